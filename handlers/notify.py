"""Deprecated alias: RQ jobs queued by QERS 0.1 name `handlers.notify.deliver_job`.

Kept for one release so that webhook deliveries already in Redis still run after an
upgrade (see docs/deploy.md); new jobs name `handlers.worker.jobs.deliver_webhook`.
"""

from handlers.worker.jobs import deliver_webhook as deliver_job

__all__ = ["deliver_job"]
