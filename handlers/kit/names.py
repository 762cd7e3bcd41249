"""Code named by a string, in the few places where a reference cannot be used.

Everything else is wired by reference, so that an editor and an import graph can follow
it. A test imports every name below and checks it is what it claims to be.
"""

from __future__ import annotations

# RQ stores a job's function by its dotted name in Redis, and workers import it by that
# name. The API cannot import the worker's module instead (the worker imports the API's
# queue client), so the names stand here.
RUN_JOB = "handlers.worker.jobs.execute_run"
WEBHOOK_JOB = "handlers.worker.jobs.deliver_webhook"
# Jobs queued before the domain packages (QERS 0.1) name the flat layout's functions:
# importable aliases keep them running after an upgrade. Remove in the next release.
LEGACY_JOBS = {
    "handlers.rqworker.execute_run": RUN_JOB,
    "handlers.notify.deliver_job": WEBHOOK_JOB,
}
# The fork server imports these before it forks simulation children; the API process
# never does (pybullet). The server's own entry module reads the list from the env.
FORK_SERVER_PRELOAD = ("numpy", "pybullet", "handlers.isolation.child", "simengine.preload")
FORK_SERVER_ENTRY = "handlers.isolation.preload"
