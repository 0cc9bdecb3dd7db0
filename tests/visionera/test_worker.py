"""The embedded worker runs actors in-process when no broker is configured."""

import threading

import dramatiq
import pytest
from django.conf import settings
from django.db import transaction

from visionera import worker

ran = threading.Event()


@dramatiq.actor(queue_name="visionera-test")
def _mark_ran():
    ran.set()


@pytest.mark.skipif(not settings.DRAMATIQ_EMBEDDED_WORKER, reason="a real broker is configured")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_message_is_sent_on_commit_and_runs_in_process():
    ran.clear()
    with transaction.atomic():
        worker.send_on_commit(_mark_ran)
        assert not ran.wait(0.3), "sent before the transaction committed"
    assert ran.wait(10), "the embedded worker did not run the message"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_broker_outage_at_send_is_logged_not_raised(caplog):
    class DownBroker:
        def send(self, *args, **kwargs):
            raise ConnectionError("broker down")

    worker.send_on_commit(DownBroker(), "job-1")  # outside a transaction: runs at once
    assert "Could not send" in caplog.text and "job-1" in caplog.text
