"""The job lifecycle run directly (no queue): completion, idempotency, failures, recovery,
cancellation and signed webhooks."""

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from tests.videos.conftest import (
    ActorStandIn,
    account_secret,
    deliver_now,
    needs_embedded,
    signature_ok,
    wait_for,
    write_video,
)
from videos import jobs, messages, pipeline, recovery, webhooks
from videos.models import VideoDetection, VideoJob, WebhookDelivery

BOX = {"x": 0, "y": 0, "width": 1, "height": 1}


@pytest.fixture
def make_job(media_root, pro_client):
    def make(frames=20, fps=10.0, size=(160, 120), **fields):
        path = media_root / "videos" / f"clip-{VideoJob.objects.count()}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames=frames, fps=fps, size=size)
        fields.setdefault("features", ["faces"])
        fields.setdefault("sample_fps", 2.0)
        # As create_job does; also keeps the background sweeper away from these jobs.
        fields.setdefault("enqueued_at", timezone.now())
        return VideoJob.objects.create(
            owner=pro_client.user,
            file_path=str(path.relative_to(media_root)),
            original_filename="clip.mp4",
            **fields,
        )

    return make


def request_job_id(request) -> str:
    import json

    return json.loads(request["body"])["data"]["job_id"]


class ExplodingEngine:
    def __init__(self, exc):
        self.exc = exc

    def detect(self, *args, **kwargs):
        raise self.exc


def test_a_job_runs_to_completion_with_a_summary(make_job):
    job = make_job(frames=30, sample_fps=2.0)
    assert jobs.run_job(job_id=job.pk) == "completed"
    job.refresh_from_db()
    assert job.status == "completed" and job.progress == 100 and job.attempts == 1
    assert job.started_at <= job.finished_at and job.heartbeat_at is not None
    assert job.error == ""
    assert job.summary["frames_analysed"] == 6
    assert job.summary["counts"] == {"faces": 0}
    assert job.summary["duration_seconds"] == pytest.approx(3.0, abs=0.15)


def test_a_finished_job_is_never_run_again(make_job):
    job = make_job()
    jobs.run_job(job_id=job.pk)
    assert jobs.run_job(job_id=job.pk) == "skipped"
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_job_running_elsewhere_with_a_live_heartbeat_is_not_run_twice(make_job):
    job = make_job(status="processing", attempts=1, heartbeat_at=timezone.now())
    assert jobs.run_job(job_id=job.pk) == "skipped"
    job.refresh_from_db()
    assert job.status == "processing" and job.attempts == 1


def test_a_rerun_after_a_dead_worker_replaces_its_partial_detections(make_job):
    stale = timezone.now() - timedelta(hours=1)
    job = make_job(status="processing", attempts=1, progress=40, heartbeat_at=stale)
    VideoDetection.objects.create(job=job, timestamp_ms=99_999, kind="face", box=BOX)
    assert jobs.run_job(job_id=job.pk) == "completed"
    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2 and job.progress == 100
    assert not VideoDetection.objects.filter(job=job, timestamp_ms=99_999).exists()


def test_an_engine_error_fails_the_job_with_a_short_message(make_job, monkeypatch):
    monkeypatch.setattr(
        pipeline, "get_face_engine", lambda: ExplodingEngine(RuntimeError("model exploded"))
    )
    job = make_job()
    assert jobs.run_job(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == "analysis failed: an internal error (the details are in the server's log)"
    assert "Traceback" not in job.error and "\n" not in job.error


def test_an_unexpected_errors_text_stays_in_the_log(make_job, monkeypatch, caplog):
    """What PostgreSQL says of a failed check names the relation and the constraint: the
    job's owner must not read it; the operator finds it in the log with the job id."""
    from django.db import IntegrityError

    internals = (
        'new row for relation "videos_videodetection" violates check constraint'
        ' "videos_videodetection_timestamp_ms_check"'
    )
    monkeypatch.setattr(
        pipeline, "get_face_engine", lambda: ExplodingEngine(IntegrityError(internals))
    )
    job = make_job()
    assert jobs.run_job(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == "analysis failed: an internal error (the details are in the server's log)"
    assert "videos_videodetection" not in job.error and "IntegrityError" not in job.error
    assert internals in caplog.text and str(job.pk) in caplog.text


def test_a_missing_engine_fails_the_job_and_says_which(make_job, monkeypatch):
    def unavailable():
        raise pipeline.EngineUnavailable("vehicle detection is not available on this server")

    monkeypatch.setattr(pipeline, "_vehicle_detector", unavailable)
    job = make_job(features=["faces", "vehicles"])
    jobs.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "vehicle detection is not available on this server"


def test_a_transient_error_is_retried_then_fails_after_the_last_attempt(
    make_job, monkeypatch, settings
):
    settings.VIDEO_JOB_MAX_ATTEMPTS = 2
    monkeypatch.setattr(
        pipeline, "get_face_engine", lambda: ExplodingEngine(OperationalError("db went away"))
    )
    job = make_job()
    with pytest.raises(jobs.RetryLater):
        jobs.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 1 and "retrying" in job.error
    assert jobs.run_job(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2
    assert job.error == "failed after 2 attempts: a temporary error (OperationalError) persisted"


def test_the_actor_asks_dramatiq_to_retry_only_transient_errors():
    from videos.tasks import _should_retry

    assert _should_retry(0, jobs.RetryLater("db"))
    assert not _should_retry(0, RuntimeError("bug"))
    assert not _should_retry(99, jobs.RetryLater("db"))


def test_a_missing_file_is_retried_then_reported(make_job, media_root, settings):
    settings.VIDEO_JOB_MAX_ATTEMPTS = 1
    job = make_job()
    (media_root / job.file_path).unlink()
    jobs.run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "missing from MEDIA_ROOT" in job.error


class TestSweeper:
    @pytest.fixture
    def sent(self, monkeypatch, settings):
        settings.VIDEO_SWEEP_INTERVAL_SECONDS = 0  # no background sweep racing these tests
        sent = []
        monkeypatch.setattr(
            messages, "send_on_commit",
            lambda actor, *args, **options: sent.append((actor, args)),
        )
        return sent

    def test_stale_processing_and_lost_queued_jobs_are_resent(self, make_job, sent):
        long_ago = timezone.now() - timedelta(hours=2)
        dead = make_job(status="processing", attempts=1, heartbeat_at=long_ago,
                        enqueued_at=long_ago)
        lost = make_job(status="queued", enqueued_at=long_ago)
        alive = make_job(status="processing", attempts=1, heartbeat_at=timezone.now(),
                         enqueued_at=long_ago)
        fresh = make_job(status="queued", enqueued_at=timezone.now())
        done = make_job(status="completed", enqueued_at=long_ago, heartbeat_at=long_ago)

        requeued = recovery.requeue_stale_jobs()
        assert set(requeued) == {dead.pk, lost.pk}
        assert sorted(args[0] for _, args in sent) == sorted([str(dead.pk), str(lost.pk)])
        assert sent[0][0].actor_name == "analyze_video"
        # A second sweep right away sends nothing more (enqueued_at moved on).
        assert recovery.requeue_stale_jobs() == []
        for job in (alive, fresh, done):
            job.refresh_from_db()
        assert alive.status == "processing" and fresh.status == "queued"

    def test_a_job_that_keeps_killing_its_worker_fails_instead_of_looping(
        self, make_job, sent, settings
    ):
        settings.VIDEO_JOB_MAX_ATTEMPTS = 3
        long_ago = timezone.now() - timedelta(hours=2)
        job = make_job(status="processing", attempts=3, heartbeat_at=long_ago,
                       enqueued_at=long_ago)
        assert recovery.requeue_stale_jobs() == []
        job.refresh_from_db()
        assert job.status == "failed" and "stopped responding 3 times" in job.error
        assert sent == []

    def test_the_resent_job_is_claimed_and_completed(self, make_job, sent):
        long_ago = timezone.now() - timedelta(hours=2)
        job = make_job(status="processing", attempts=1, progress=30, heartbeat_at=long_ago,
                       enqueued_at=long_ago)
        recovery.requeue_stale_jobs()
        (_, (job_id,)), = sent
        assert job_id == str(job.pk)
        assert jobs.run_job(job_id=job_id) == "completed"

    def test_a_webhook_its_worker_never_recorded_is_queued_once(
        self, make_job, sent, webhook_receiver
    ):
        long_ago = timezone.now() - timedelta(hours=2)
        job = make_job(status="completed", progress=100, summary={"frames_analysed": 1},
                       heartbeat_at=long_ago, finished_at=long_ago,
                       callback_url=webhook_receiver.url)
        recent = make_job(status="completed", heartbeat_at=timezone.now(),
                          callback_url=webhook_receiver.url)
        assert recovery.requeue_stale_jobs() == []
        assert list(WebhookDelivery.objects.values_list("job_id", flat=True)) == [job.pk]
        delivery = WebhookDelivery.objects.get()
        assert [(actor.actor_name, args) for actor, args in sent] == [
            ("deliver_webhook", (str(delivery.pk),))
        ]
        recovery.requeue_stale_jobs()
        assert WebhookDelivery.objects.count() == 1 and len(sent) == 1
        delivery = deliver_now(job=job)
        assert delivery.status == "delivered"
        assert [request_job_id(r) for r in webhook_receiver.requests] == [str(job.pk)]
        job.refresh_from_db()
        recent.refresh_from_db()
        assert job.webhook_status.startswith("delivered") and recent.webhook_status == ""

    @pytest.mark.parametrize("status", ["pending", "delivering"])
    def test_a_delivery_whose_message_or_worker_was_lost_is_sent_again(
        self, make_job, status, webhook_receiver, django_capture_on_commit_callbacks, monkeypatch
    ):
        stand_in = ActorStandIn(messages.DELIVER_WEBHOOK)
        monkeypatch.setattr(messages, "DELIVER_WEBHOOK", stand_in)
        sent = stand_in.sent
        long_ago = timezone.now() - timedelta(hours=2)
        job = make_job(status="completed", summary={}, heartbeat_at=long_ago,
                       callback_url=webhook_receiver.url)
        delivery = WebhookDelivery.objects.create(
            owner=job.owner, job=job, event="video.completed", url=job.callback_url,
            payload={"type": "video.completed"}, status=status, attempts=1, due_at=long_ago,
        )
        with django_capture_on_commit_callbacks(execute=True):
            recovery.requeue_stale_jobs()
        assert sent == [(str(delivery.pk),)]
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 1
        with django_capture_on_commit_callbacks(execute=True):
            recovery.requeue_stale_jobs()  # due_at moved on: not sent twice
        assert len(sent) == 1

    def test_an_attempt_still_within_its_deadline_is_not_taken_for_a_dead_worker(
        self, make_job, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS = 10
        stand_in = ActorStandIn(messages.DELIVER_WEBHOOK)
        monkeypatch.setattr(messages, "DELIVER_WEBHOOK", stand_in)
        resent = stand_in.sent
        job = make_job(status="completed", summary={}, callback_url="http://127.0.0.1:9/")
        delivery = WebhookDelivery.objects.create(
            owner=job.owner, job=job, event="video.completed", url=job.callback_url,
            payload={}, status="delivering", attempts=1,
            due_at=timezone.now() - timedelta(seconds=20),  # claimed 20 s ago
        )
        with django_capture_on_commit_callbacks(execute=True):
            recovery.requeue_stale_jobs(stale_after_seconds=4)
        delivery.refresh_from_db()
        assert delivery.status == "delivering" and resent == []

    def test_the_management_command_sweeps(self, make_job, sent):
        from io import StringIO

        from django.core.management import call_command

        long_ago = timezone.now() - timedelta(hours=2)
        job = make_job(status="queued", enqueued_at=long_ago)
        out = StringIO()
        call_command("sweep_video_jobs", stdout=out)
        assert "re-queued 1 job(s)" in out.getvalue() and str(job.pk) in out.getvalue()


@needs_embedded
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stale_job_is_resumed_by_the_embedded_worker(make_job, settings):
    """The embedded equivalent of a killed worker: its job is left processing, silent."""
    settings.VIDEO_SWEEP_INTERVAL_SECONDS = 0
    long_ago = timezone.now() - timedelta(hours=2)
    job = make_job(status="processing", attempts=1, progress=30, heartbeat_at=long_ago,
                   enqueued_at=long_ago)
    assert recovery.requeue_stale_jobs() == [job.pk]

    def finished():
        job.refresh_from_db()
        return job.status == "completed"

    wait_for(finished, timeout=60, message="the re-queued job to complete")
    assert job.attempts == 2 and job.progress == 100


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_delete_cancels_a_running_job_between_frames(make_job, pro_client, settings, media_root):
    settings.VIDEO_JOB_HEARTBEAT_SECONDS = 0.2
    # ~30 s of work if it were not cancelled: 300 sampled frames of 640×360.
    job = make_job(frames=300, fps=30.0, size=(640, 360), sample_fps=30.0)
    path = media_root / job.file_path
    outcome = []
    def run():
        try:
            outcome.append(jobs.run_job(job_id=job.pk))
        finally:
            connection.close()  # the thread's own connection; the test database is dropped later

    runner = threading.Thread(target=run)
    runner.start()
    try:
        wait_for(
            lambda: VideoJob.objects.filter(pk=job.pk, progress__gt=0).exists(),
            timeout=60, interval=0.05, message="the job to make progress",
        )
        response = pro_client.delete(f"/api/videos/{job.pk}")
        assert response.status_code == 204
        written = VideoDetection.objects.filter(job_id=job.pk).count()
    finally:
        runner.join(timeout=30)
    assert outcome == ["cancelled"]
    assert VideoDetection.objects.filter(job_id=job.pk).count() == written
    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and job.progress < 100
    assert job.summary is None
    assert not path.exists()


def test_a_finished_job_posts_a_signed_webhook(make_job, webhook_receiver, pro_client):
    job = make_job(callback_url=webhook_receiver.url)
    jobs.run_job(job_id=job.pk)
    assert webhook_receiver.requests == [], "the analysis worker never waits for a receiver"
    delivery = deliver_now(job=job)
    assert delivery.status == "delivered" and delivery.attempts == 1
    request = webhook_receiver.requests[0]
    assert signature_ok(request, account_secret(pro_client.user))
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["webhook-id"] == f"msg_{delivery.pk.hex}"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    payload = webhook_receiver.json()
    assert payload["type"] == "video.completed"
    data = payload["data"]
    assert data["job_id"] == str(job.pk) and data["status"] == "completed"
    assert data["account_id"] == pro_client.user.pk
    assert data["summary"]["frames_analysed"] == 4
    assert data["status_path"] == f"/api/videos/{job.pk}"
    job.refresh_from_db()
    assert job.webhook_status.startswith("delivered (HTTP 200)")
    assert job.summary["webhook"] == {"delivered": True, "attempts": 1, "status_code": 200}


def test_a_failed_job_posts_a_failure_webhook(
    make_job, webhook_receiver, monkeypatch, pro_client
):
    monkeypatch.setattr(pipeline, "get_face_engine", lambda: ExplodingEngine(RuntimeError("x")))
    job = make_job(callback_url=webhook_receiver.url)
    jobs.run_job(job_id=job.pk)
    deliver_now(job=job)
    payload = webhook_receiver.json()
    assert payload["type"] == "video.failed"
    assert payload["data"]["error"] == (
        "analysis failed: an internal error (the details are in the server's log)"
    )
    assert signature_ok(webhook_receiver.requests[0], account_secret(pro_client.user))


@pytest.mark.parametrize("ending", ["failed", "cancelled", "completed"])
def test_every_final_status_reports_its_webhook(
    make_job, webhook_receiver, monkeypatch, pro_client, ending
):
    """The contract: the job reports delivered or failed, attempts and the receiver's
    status. A failed or cancelled job has no summary, so it never said."""
    webhook_receiver.status = 202
    job = make_job(callback_url=webhook_receiver.url)
    if ending == "failed":
        monkeypatch.setattr(pipeline, "get_face_engine", lambda: ExplodingEngine(RuntimeError()))
    if ending == "cancelled":
        assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204
    else:
        jobs.run_job(job_id=job.pk)
    assert pro_client.get(f"/api/videos/{job.pk}").json()["webhook"] is None  # not yet sent

    deliver_now(job=job)

    outcome = {"delivered": True, "attempts": 1, "status_code": 202}
    shown = pro_client.get(f"/api/videos/{job.pk}").json()
    assert shown["status"] == ending and shown["webhook"] == outcome
    listed = pro_client.get("/api/videos").json()["results"]
    assert [item["webhook"] for item in listed] == [outcome]


def test_an_unreachable_receiver_is_retried_with_backoff_and_recorded(
    make_job, webhook_receiver, settings
):
    settings.VIDEO_WEBHOOK_ATTEMPTS = 3
    settings.VIDEO_WEBHOOK_BACKOFF_SECONDS = 2
    webhook_receiver.status = 503
    job = make_job(callback_url=webhook_receiver.url)
    jobs.run_job(job_id=job.pk)
    delivery = WebhookDelivery.objects.get(job=job)
    before = timezone.now()
    assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    # The next attempt is due after the backoff (2 s, then 4 s), not at once.
    assert delivery.due_at - before >= timedelta(seconds=2)
    # A duplicate message (a sweeper re-send) arriving early does not skip the backoff.
    assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "skipped"
    assert len(webhook_receiver.requests) == 1
    delivery = deliver_now(delivery=delivery)
    assert len(webhook_receiver.requests) == 3
    # One webhook-id for every attempt of one message, as the spec asks.
    assert len({r["headers"]["webhook-id"] for r in webhook_receiver.requests}) == 1
    job.refresh_from_db()
    assert job.status == "completed" and delivery.status == "failed"
    assert job.webhook_status == "failed after 3 attempt(s): HTTP 503"
    assert job.summary["webhook"] == {"delivered": False, "attempts": 3, "status_code": 503}


class TestRetention:
    def test_the_upload_is_deleted_once_the_job_completes(self, make_job, media_root):
        job = make_job()
        jobs.run_job(job_id=job.pk)
        job.refresh_from_db()
        assert job.status == "completed" and job.summary["frames_analysed"] > 0
        assert not (media_root / job.file_path).exists()

    def test_the_upload_is_deleted_when_the_job_fails_for_good(self, make_job, media_root):
        job = make_job()
        assert jobs.fail_job(job_id=job.pk, message="gave up")
        assert not (media_root / job.file_path).exists()

    def test_keep_videos_keeps_the_upload(self, make_job, media_root, settings):
        settings.VIDEO_KEEP_FILES = True
        job = make_job()
        jobs.run_job(job_id=job.pk)
        assert (media_root / job.file_path).exists()

    def test_expired_jobs_are_purged_with_their_results_and_files(
        self, make_job, media_root, settings, django_capture_on_commit_callbacks
    ):
        settings.VIDEO_KEEP_FILES = True
        old, recent, running = make_job(), make_job(), make_job()
        for job in (old, recent):
            jobs.run_job(job_id=job.pk)
        VideoJob.objects.filter(pk=old.pk).update(
            finished_at=timezone.now() - timedelta(days=31)
        )
        VideoJob.objects.filter(pk=running.pk).update(status="processing")
        with django_capture_on_commit_callbacks(execute=True):
            assert recovery.purge_expired_jobs(older_than_days=30) == 1
        assert not VideoJob.objects.filter(pk=old.pk).exists()
        assert not (media_root / old.file_path).exists()
        assert VideoJob.objects.filter(pk__in=[recent.pk, running.pk]).count() == 2
        assert recovery.purge_expired_jobs(older_than_days=0) == 0
