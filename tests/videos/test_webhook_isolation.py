"""A hostile receiver never holds up anyone else: not another account's analysis (its own
queue and threads), not the sweeper's other jobs, not the retention purge."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.videos.conftest import (
    ActorStandIn,
    needs_broker,
    needs_embedded,
    read_request,
    submitted_job_id,
    wait_for,
)
from videos import messages, recovery, webhooks
from videos.models import VideoJob, WebhookDelivery

FACES = {"features": "faces", "sample_fps": "2"}


def trickle(conn, stop):
    """Reads the request, then answers one byte every 2 s: each read is 'on time'."""
    read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
        if stop.wait(2.0):
            return
        conn.sendall(bytes([byte]))


def ssh_banner(conn, stop):
    conn.sendall(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
    read_request(conn)


@needs_embedded
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_trickling_receivers_do_not_delay_another_accounts_analysis(
    make_client, raw_server, synthetic_video_bytes, settings
):
    settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS = 12
    settings.VIDEO_WEBHOOK_ATTEMPTS = 1
    settings.VIDEO_JOB_HEARTBEAT_SECONDS = 1
    settings.VIDEO_SWEEP_INTERVAL_SECONDS = 0
    slow = raw_server(trickle)
    attacker, victim = make_client("pro"), make_client("pro")

    # As many trickling deliveries as the embedded worker has webhook threads, and one more.
    attacker_jobs = [submitted_job_id(attacker, synthetic_video_bytes, **FACES,
                                      callback_url=slow.url())
                     for _ in range(3)]
    wait_for(
        lambda: WebhookDelivery.objects.filter(job_id__in=attacker_jobs,
                                               status="delivering").count() == 2,
        timeout=60, message="both webhook threads to be held by the trickling receiver",
    )
    started = time.monotonic()
    victim_job = submitted_job_id(victim, synthetic_video_bytes, **FACES)
    wait_for(lambda: VideoJob.objects.filter(pk=victim_job, status="completed").exists(),
             timeout=30, interval=0.1, message="the other account's job to complete")
    took = time.monotonic() - started
    # Completed while the attacker's deliveries were still being trickled to.
    assert WebhookDelivery.objects.filter(job_id__in=attacker_jobs,
                                          status="delivering").count() == 2
    assert took < 10, f"the other account's job took {took:.1f} s"

    # Each attempt ends at the overall deadline (12 s), not after the whole trickle (~80 s).
    def all_failed():
        return WebhookDelivery.objects.filter(job_id__in=attacker_jobs, status="failed").count()

    wait_for(lambda: all_failed() == 3, timeout=60, message="the deliveries to time out")
    for delivery in WebhookDelivery.objects.filter(job_id__in=attacker_jobs):
        assert delivery.error == "deadline of 12 s exceeded"
        assert delivery.attempts == 1


@needs_broker
@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_webhooks_only_worker_process_keeps_trickling_receivers_off_the_analysis_worker(
    make_client, raw_server, synthetic_video_bytes, start_worker
):
    """The production split: `rundramatiq --queues webhooks` beside `--queues videos`."""
    slow = raw_server(trickle)
    start_worker("--queues", "videos")
    start_worker("--queues", "webhooks")
    attacker, victim = make_client("pro"), make_client("pro")
    attacker_job = submitted_job_id(attacker, synthetic_video_bytes, **FACES,
                                    callback_url=slow.url())
    wait_for(
        lambda: WebhookDelivery.objects.filter(job_id=attacker_job, status="delivering").exists(),
        timeout=90, message="the webhooks worker to be held by the trickling receiver",
    )
    victim_job = submitted_job_id(victim, synthetic_video_bytes, **FACES)
    wait_for(lambda: VideoJob.objects.filter(pk=victim_job, status="completed").exists(),
             timeout=30, interval=0.1, message="the other account's job to complete")
    # Completed while the webhooks worker was still being trickled to (10 s deadline).
    assert WebhookDelivery.objects.filter(job_id=attacker_job, status="delivering").exists()
    # The attempt ends at its deadline and is the first one: the sweepers (every 2 s, stale
    # after 4 s here) never mistook the long attempt for a dead worker.
    wait_for(
        lambda: WebhookDelivery.objects.filter(job_id=attacker_job)
        .exclude(status="delivering").exists(),
        timeout=30, message="the attempt to end at its deadline",
    )
    delivery = WebhookDelivery.objects.get(job_id=attacker_job)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.error == "deadline of 10 s exceeded"


def test_a_garbage_receiver_and_a_bad_job_never_stop_the_sweeper_or_the_purge(
    pro_client, raw_server, webhook_receiver, monkeypatch, settings,
    django_capture_on_commit_callbacks,
):
    settings.VIDEO_SWEEP_INTERVAL_SECONDS = 0
    settings.VIDEO_WEBHOOK_ATTEMPTS = 1
    # The webhooks actor, run inline when the sweeper queues a delivery.
    monkeypatch.setattr(messages, "DELIVER_WEBHOOK", ActorStandIn(
        messages.DELIVER_WEBHOOK,
        lambda delivery_id: webhooks.attempt_delivery(delivery_id=delivery_id)
    ))
    long_ago = timezone.now() - timedelta(hours=2)

    def finished(callback_url="", finished_at=long_ago):
        return VideoJob.objects.create(
            owner=pro_client.user, file_path="videos/gone.mp4", status="completed",
            summary={"frames_analysed": 1}, callback_url=callback_url,
            finished_at=finished_at, heartbeat_at=finished_at,
        )

    garbage = finished(raw_server(ssh_banner).url())
    broken = finished(webhook_receiver.url)
    healthy = finished(webhook_receiver.url)
    expired = finished(finished_at=timezone.now() - timedelta(days=40))
    lost = VideoJob.objects.create(owner=pro_client.user, file_path="videos/l.mp4",
                                   status="queued", enqueued_at=long_ago)

    real_job_event = webhooks.job_event

    def explode_for_broken(job):
        if job.pk == broken.pk:
            raise RuntimeError("a job the sweeper cannot handle")
        return real_job_event(job)

    monkeypatch.setattr(webhooks, "job_event", explode_for_broken)
    analysis = ActorStandIn(messages.ANALYZE_VIDEO)
    monkeypatch.setattr(messages, "ANALYZE_VIDEO", analysis)

    with django_capture_on_commit_callbacks(execute=True):
        requeued = recovery.requeue_stale_jobs()
        purged = recovery.purge_expired_jobs()

    assert requeued == [lost.pk] and analysis.sent == [(str(lost.pk),)]
    assert WebhookDelivery.objects.get(job=garbage).status == "failed"
    assert WebhookDelivery.objects.get(job=garbage).error.startswith("BadStatusLine")
    assert not WebhookDelivery.objects.filter(job=broken).exists()
    assert WebhookDelivery.objects.get(job=healthy).status == "delivered"
    assert [r["headers"]["webhook-id"] for r in webhook_receiver.requests] == [
        WebhookDelivery.objects.get(job=healthy).message_id
    ]
    assert purged == 1 and not VideoJob.objects.filter(pk=expired.pk).exists()
