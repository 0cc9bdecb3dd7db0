"""DELETE /api/videos/{id} with the real fixture clip: a queued or running job is cancelled
(kept, status `cancelled`, the worker stops at its next sampled frame, writes nothing more,
its upload is removed, no retry, a `video.cancelled` webhook); a finished job is deleted;
another account's job is a 404 and stays as it was."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import analysed_video_job, fixture_upload
from tests.videos.conftest import FIXTURE_CLIP, ActorStandIn, deliver_now
from videos import jobs, messages
from videos.models import VideoDetection, VideoJob, WebhookDelivery


def submit(client, **fields):
    response = client.post(
        "/api/videos/analyze",
        {"video": fixture_upload(FIXTURE_CLIP, "video/mp4"), "sample_fps": "2", **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return VideoJob.objects.get(pk=response.json()["job_id"])


def test_cancel_while_queued_keeps_the_job_cancelled_and_removes_its_file(
    pro_client, media_root, webhook_receiver, django_capture_on_commit_callbacks, monkeypatch
):
    # The delivery message is recorded, then delivered in this thread (deliver_now).
    delivery_messages = ActorStandIn(messages.DELIVER_WEBHOOK)
    monkeypatch.setattr(messages, "DELIVER_WEBHOOK", delivery_messages)
    job = submit(pro_client, features="faces", callback_url=webhook_receiver.url)
    path = media_root / job.file_path
    assert job.status == VideoJob.Status.QUEUED and path.is_file()

    with django_capture_on_commit_callbacks(execute=True):
        response = pro_client.delete(f"/api/videos/{job.pk}")
    assert response.status_code == 204

    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and job.finished_at is not None
    assert not path.exists()
    body = pro_client.get(f"/api/videos/{job.pk}").json()
    assert body["status"] == "cancelled" and body["progress"] == 0 and body["summary"] is None
    # The message that was queued finds nothing to do: no attempt, no detection.
    assert jobs.run_job(job_id=job.pk) == "skipped"
    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and job.attempts == 0
    assert not VideoDetection.objects.filter(job=job).exists()
    # The receiver hears about it, once.
    assert delivery_messages.sent == [(str(WebhookDelivery.objects.get(job=job).pk),)]
    delivery = deliver_now(job=job)
    assert delivery.event == "video.cancelled" and delivery.status == "delivered"
    event = json.loads(webhook_receiver.requests[0]["body"])
    assert event["type"] == "video.cancelled" and event["data"]["status"] == "cancelled"
    # DELETE again: the job is finished now, so it goes.
    assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204
    assert not VideoJob.objects.filter(pk=job.pk).exists()


def test_cancel_while_processing_stops_the_worker_at_its_next_frame(
    pro_client, media_root, monkeypatch
):
    job = submit(pro_client, features="faces,vehicles,bodies")
    path = media_root / job.file_path
    seen = {"calls": 0, "after_cancel": 0, "cancelled_at": None, "detections": None}

    class CancelAtThirdFrame(jobs._ProgressReporter):
        """The real reporter; right after the third sampled frame's check the owner cancels
        through the API (from inside the run, so the moment is exact); calls after that are
        counted."""

        def __call__(self, percent):
            seen["calls"] += 1
            if seen["cancelled_at"] is not None:
                seen["after_cancel"] += 1
            super().__call__(percent)
            if seen["calls"] == 3:
                assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204
                seen["cancelled_at"] = percent
                seen["detections"] = VideoDetection.objects.filter(job=job).count()

    monkeypatch.setattr(jobs, "_ProgressReporter", CancelAtThirdFrame)
    assert jobs.run_job(job_id=job.pk) == "cancelled"  # returns: no RetryLater, no retry

    assert seen["cancelled_at"] is not None and seen["cancelled_at"] < 99
    assert seen["after_cancel"] == 1, "the worker stops at the first frame after the cancel"
    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and job.attempts == 1
    assert job.summary is None and job.progress < 100
    assert VideoDetection.objects.filter(job=job).count() == seen["detections"]
    assert not path.exists()
    assert not WebhookDelivery.objects.filter(job=job).exists()  # no callback_url
    assert jobs.run_job(job_id=job.pk) == "skipped"  # a duplicate message changes nothing


def test_cancelling_a_job_whose_worker_died_removes_its_file(
    pro_client, media_root, django_capture_on_commit_callbacks
):
    """Marked running, its heartbeat long stale: no worker will come back to remove the
    upload, so the cancellation does (it stayed until retention, forever with 0)."""
    job = submit(pro_client, features="faces")
    path = media_root / job.file_path
    VideoJob.objects.filter(pk=job.pk).update(
        status=VideoJob.Status.PROCESSING, attempts=1,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204

    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and not path.exists()
    assert jobs.run_job(job_id=job.pk) == "skipped"  # the sweeper's re-send finds nothing


def test_a_cancelled_running_job_keeps_its_file_when_files_are_kept(
    pro_client, media_root, settings, django_capture_on_commit_callbacks
):
    settings.VIDEO_KEEP_FILES = True
    job = submit(pro_client, features="faces")
    VideoJob.objects.filter(pk=job.pk).update(status=VideoJob.Status.PROCESSING, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204
    assert (media_root / job.file_path).is_file()


def test_a_worker_whose_file_went_with_the_cancel_stops_without_a_retry(
    pro_client, media_root, monkeypatch, django_capture_on_commit_callbacks
):
    """Cancelled between the worker's claim and its opening the file: the file is gone,
    and the run ends as cancelled (no retry, no failure) instead of retrying a missing file."""
    job = submit(pro_client, features="faces")
    real_path = jobs.job_file_path
    cancels = []

    def cancelled_first(row):
        if not cancels:  # the run's own look-up of its file; not the discard's after it
            cancels.append(1)
            with django_capture_on_commit_callbacks(execute=True):
                assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204
        return real_path(row)

    monkeypatch.setattr(jobs, "job_file_path", cancelled_first)
    assert jobs.run_job(job_id=job.pk) == "cancelled"  # no RetryLater raised
    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and job.error == ""
    assert not (media_root / job.file_path).exists()


def test_delete_of_a_finished_job_removes_it_and_its_results(pro_client):
    job = analysed_video_job(pro_client.user, features=("faces",))
    assert job.status == VideoJob.Status.COMPLETED
    assert pro_client.get(f"/api/videos/{job.pk}/results").json()["count"] > 0

    assert pro_client.delete(f"/api/videos/{job.pk}").status_code == 204
    assert not VideoJob.objects.filter(pk=job.pk).exists()
    assert not VideoDetection.objects.filter(job_id=job.pk).exists()
    assert pro_client.get(f"/api/videos/{job.pk}").status_code == 404


@pytest.mark.parametrize("finished", [False, True], ids=["queued", "completed"])
def test_another_accounts_job_is_not_found_and_left_alone(
    finished, pro_client, make_client, media_root
):
    other = make_client("pro")
    if finished:
        job = analysed_video_job(other.user, features=("faces",))
    else:
        job = submit(other)
    before = (job.status, VideoDetection.objects.filter(job=job).count())

    response = pro_client.delete(f"/api/videos/{job.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    job.refresh_from_db()
    assert (job.status, VideoDetection.objects.filter(job=job).count()) == before
    if not finished:
        assert (media_root / job.file_path).is_file()
