"""Idempotency keys: the first response to a creating POST, replayed for its retries."""
