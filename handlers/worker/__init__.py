"""The `qers worker` side of the queued mode: the RQ worker and the jobs it executes."""
