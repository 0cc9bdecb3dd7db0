"""Enqueueing background work, and the embedded worker used when no broker is configured.

With DRAMATIQ_BROKER_URL set, messages go to Redis and `manage.py rundramatiq` processes
run them anywhere. Without it, django_dramatiq installs dramatiq's StubBroker and this
module starts a dramatiq Worker inside the serving process on first use, so `make run`
runs jobs with no other service. Jobs are always written to the database before their
message is sent (on commit), so a lost in-memory message is recovered by re-queueing from
the database (see videos.services.requeue_stale_jobs).
"""

import logging
import threading

import dramatiq
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

EMBEDDED_WORKER_THREADS = 2
_lock = threading.Lock()
_worker: dramatiq.Worker | None = None


def embedded_worker() -> dramatiq.Worker | None:
    """The in-process worker, started once; None when a real broker is configured."""
    global _worker
    if not settings.DRAMATIQ_EMBEDDED_WORKER:
        return None
    with _lock:
        if _worker is None:
            broker = dramatiq.get_broker()
            _worker = dramatiq.Worker(
                broker, worker_threads=EMBEDDED_WORKER_THREADS, worker_timeout=100
            )
            _worker.start()
            logger.info("Embedded Dramatiq worker started (%d threads)", EMBEDDED_WORKER_THREADS)
        return _worker


def stop_embedded_worker() -> None:
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop()
            _worker = None


def send_on_commit(actor, *args, **kwargs) -> None:
    """Send a message once the surrounding transaction has committed (never before).

    A broker that is down at that moment is logged, not raised: the work is already in the
    database, and its owner's sweeper re-sends it (videos.services.requeue_stale_jobs), so
    the client keeps its answer instead of a 500 after its data was saved.
    """

    def send():
        try:
            embedded_worker()
            actor.send(*args, **kwargs)
        except Exception:  # noqa: BLE001 - any broker failure; the work waits in the database
            logger.exception("Could not send %s%r; it stays queued in the database", actor, args)

    transaction.on_commit(send)
