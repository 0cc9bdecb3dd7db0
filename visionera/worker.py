"""Enqueueing background work, and the embedded worker used when no broker is configured.

With DRAMATIQ_BROKER_URL set, messages go to Redis and `manage.py rundramatiq` processes
run them anywhere. Without it, django_dramatiq installs dramatiq's StubBroker and this
module starts a dramatiq Worker inside the serving process on first use, so `make run`
runs jobs with no other service. Jobs are always written to the database before their
message is sent (on commit), so a lost in-memory message is recovered by re-queueing from
the database (see videos.recovery.requeue_stale_jobs).

Webhook deliveries have their own queue (WEBHOOK_QUEUE) and, in the embedded case, their
own Worker with its own threads: a receiver that answers slowly holds a delivery thread
for at most one attempt's deadline and never an analysis thread. (`rundramatiq` consumes
every declared queue, webhooks included; run one with `--queues webhooks` to give
deliveries their own process.)
"""

import logging
import threading
from dataclasses import dataclass

import dramatiq
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)

EMBEDDED_WORKER_THREADS = 2
EMBEDDED_WEBHOOK_THREADS = 2
WEBHOOK_QUEUE = "webhooks"
_lock = threading.Lock()
_worker: dramatiq.Worker | None = None
_webhook_worker: dramatiq.Worker | None = None


def embedded_worker() -> dramatiq.Worker | None:
    """The in-process worker, started once; None when a real broker is configured.

    Two dramatiq Workers share the broker: one for every queue but webhooks (analysis),
    one for webhooks only, so deliveries and analyses never wait for each other's threads.
    """
    global _worker, _webhook_worker
    if not settings.DRAMATIQ_EMBEDDED_WORKER:
        return None
    with _lock:
        if _worker is None:
            broker = dramatiq.get_broker()
            # Every app's actors declare their queues on import (as rundramatiq does):
            # the analysis worker's queue list is computed from them just below.
            autodiscover_modules(*settings.DRAMATIQ_AUTODISCOVER_MODULES)

            analysis_queues = set(broker.get_declared_queues()) - {WEBHOOK_QUEUE}
            _webhook_worker = dramatiq.Worker(
                broker, queues={WEBHOOK_QUEUE}, worker_threads=EMBEDDED_WEBHOOK_THREADS,
                worker_timeout=100,
            )
            _webhook_worker.start()
            _worker = dramatiq.Worker(
                broker, queues=analysis_queues, worker_threads=EMBEDDED_WORKER_THREADS,
                worker_timeout=100,
            )
            _worker.start()
            logger.info(
                "Embedded Dramatiq workers started (%d analysis threads on %s, %d webhook threads)",
                EMBEDDED_WORKER_THREADS, sorted(analysis_queues), EMBEDDED_WEBHOOK_THREADS,
            )
        return _worker


def stop_embedded_worker() -> None:
    global _worker, _webhook_worker
    with _lock:
        for worker in (_worker, _webhook_worker):
            if worker is not None:
                worker.stop()
        _worker = _webhook_worker = None


@dataclass(frozen=True)
class NamedActor:
    """An actor addressed by its name and queue instead of its function object.

    For code that the actor's own module imports (videos.tasks calls videos.webhooks, which
    queues the next delivery): importing the actor back would be an import cycle. Sends the
    same message Actor.send_with_options does; the worker finds the actor by name.
    """

    actor_name: str
    queue_name: str

    def send_with_options(self, *, args: tuple = (), delay: int | None = None):
        message = dramatiq.Message(
            queue_name=self.queue_name, actor_name=self.actor_name,
            args=tuple(args), kwargs={}, options={},
        )
        return dramatiq.get_broker().enqueue(message, delay=delay)

    def send(self, *args):
        return self.send_with_options(args=args)


def send_on_commit(actor, *args, delay_seconds: float = 0) -> None:
    """Send a message once the surrounding transaction has committed (never before),
    ``delay_seconds`` later if given.

    A broker that is down at that moment is logged, not raised: the work is already in the
    database, and its owner's sweeper re-sends it (videos.recovery.requeue_stale_jobs), so
    the client keeps its answer instead of a 500 after its data was saved.
    """

    def send():
        try:
            embedded_worker()
            if delay_seconds > 0:
                actor.send_with_options(args=args, delay=int(delay_seconds * 1000))
            else:
                actor.send(*args)
        except Exception:  # noqa: BLE001 - any broker failure; the work waits in the database
            logger.exception("Could not send %s%r; it stays queued in the database", actor, args)

    transaction.on_commit(send)
