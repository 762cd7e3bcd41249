"""The API side of the queued mode: RQ jobs for runs, claims, stop flags and heartbeats in Redis."""
