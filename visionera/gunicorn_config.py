"""gunicorn's hooks for `make serve` and the README's deploy command
(`gunicorn visionera.wsgi -c python:visionera.gunicorn_config …`).

Under PROMETHEUS_MULTIPROC_DIR every worker writes its counters to files in that directory
and /metrics sums them. Files left by a previous run would be summed into this one's, so the
directory's metric files are removed when the server starts; a worker that exits is marked
dead, so its live gauges stop counting (its counters stay in the sums, as Prometheus expects
of counters).
"""

import os
from pathlib import Path


def _multiprocess_directory():
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return Path(directory) if directory else None


def on_starting(server):
    directory = _multiprocess_directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker):
    if _multiprocess_directory() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
