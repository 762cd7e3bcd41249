"""Deprecated alias: RQ jobs queued by QERS 0.1 name `handlers.rqworker.execute_run`.

Kept for one release so that jobs already in Redis still run after an upgrade (see
docs/deploy.md); new jobs name `handlers.worker.jobs.execute_run`.
"""

from handlers.worker.jobs import execute_run

__all__ = ["execute_run"]
