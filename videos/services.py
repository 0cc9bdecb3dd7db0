"""Writes for video jobs: create, claim, progress, finish, cancel, and recover lost work.

The job row is the source of truth and the queue message only carries its id:

* ``create_job`` commits the row, then sends the message (on commit).
* ``run_job`` (the actor's body) first *claims* the job with one conditional UPDATE that
  also bumps ``attempts``. The attempt number is the run's lease: every later write
  (progress, detections, completion) is conditional on it, so a run whose job was
  cancelled, deleted or handed to another worker notices at its next write and stops.
* ``requeue_stale_jobs`` (the sweeper) re-sends jobs whose worker stopped heart-beating
  and queued jobs whose message was lost; a job that kept killing its worker fails.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from videos import pipeline, selectors, webhooks
from videos.models import VideoDetection, VideoJob
from visionera import metrics
from visionera.api.uploads import StoredVideo, remove_file
from visionera.worker import send_on_commit

logger = logging.getLogger(__name__)

Status = VideoJob.Status

# Errors worth another attempt: the database or the file store hiccuped, not the video.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)


class RetryLater(Exception):
    """Raised out of the actor so Dramatiq retries the message with backoff."""


def _queue_analysis(job_id) -> None:
    from videos.tasks import analyze_video

    # A broker outage here is logged by send_on_commit; the sweeper re-sends the job.
    send_on_commit(analyze_video, str(job_id))


def max_attempts() -> int:
    return max(1, int(settings.VIDEO_JOB_MAX_ATTEMPTS))


def job_file_path(job: VideoJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file_path


def _relative_media_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))
    except ValueError:
        return str(path)


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[:300]


# --- creation and cancellation (API) -------------------------------------------------


@transaction.atomic
def create_job(
    *,
    owner,
    video: StoredVideo,
    features: list[str],
    sample_fps: float,
    collection=None,
    callback_url: str = "",
) -> VideoJob:
    """Write the job and queue its analysis once the row is committed."""
    job = VideoJob.objects.create(
        owner=owner,
        file_path=_relative_media_path(video.path),
        original_filename=video.filename,
        byte_size=video.byte_size,
        duration_seconds=video.duration_seconds,
        features=list(features),
        sample_fps=sample_fps,
        collection=collection,
        callback_url=callback_url or "",
        enqueued_at=timezone.now(),
    )
    _queue_analysis(job.pk)
    return job


@transaction.atomic
def delete_job(*, job: VideoJob) -> None:
    """Cancel (a running worker stops at its next write) and delete the job and its file.

    The file goes on commit (videos.signals), as it does when an account is deleted.
    """
    job.delete()


# --- running (worker) ----------------------------------------------------------------


def claim_job(*, job_id) -> VideoJob | None:
    """Take the job for this run, or None when it is finished, gone or run elsewhere."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.VIDEO_JOB_STALE_SECONDS)
    claimable = Q(status=Status.QUEUED) | Q(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True), status=Status.PROCESSING
    )
    claimed = (
        VideoJob.objects.filter(claimable, pk=job_id).update(
            status=Status.PROCESSING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            error="",
        )
    )
    if not claimed:
        return None
    return VideoJob.objects.get(pk=job_id)


def _lease(job: VideoJob):
    """This run's job row: it only matches while the run still owns the job."""
    return VideoJob.objects.filter(pk=job.pk, status=Status.PROCESSING, attempts=job.attempts)


class _ProgressReporter:
    """Write progress (never lower) and the heartbeat, at most about once a second."""

    def __init__(self, job: VideoJob) -> None:
        self.job = job
        self.last_percent = -1
        self.last_write = 0.0

    def __call__(self, percent: int) -> None:
        now = time.monotonic()
        since = now - self.last_write
        interval = settings.VIDEO_JOB_HEARTBEAT_SECONDS
        if not ((percent > self.last_percent and since >= min(1.0, interval)) or since >= interval):
            return
        updated = _lease(self.job).update(
            progress=Greatest(F("progress"), Value(percent)), heartbeat_at=timezone.now()
        )
        if not updated:
            raise pipeline.JobCancelled()
        self.last_percent, self.last_write = percent, now


def _store_detections(job: VideoJob, detections: list[pipeline.Detection]) -> None:
    rows = [
        VideoDetection(
            job_id=job.pk,
            timestamp_ms=item.timestamp_ms,
            kind=item.kind,
            box=item.box.as_dict(),
            payload=item.payload,
        )
        for item in detections
    ]
    try:
        with transaction.atomic():
            # Locks the row so a cancellation cannot slip between the check and the insert.
            if not _lease(job).select_for_update().exists():
                raise pipeline.JobCancelled()
            VideoDetection.objects.bulk_create(rows, batch_size=500)
    except IntegrityError:
        if not _lease(job).exists():  # the job was deleted under us
            raise pipeline.JobCancelled() from None
        raise
    _lease(job).update(heartbeat_at=timezone.now())


def _gallery(job: VideoJob) -> pipeline.Gallery | None:
    if job.collection_id is None or "faces" not in job.features:
        return None
    labels, blobs = selectors.collection_descriptors(collection_id=job.collection_id)
    return pipeline.Gallery.from_labelled_blobs(labels, blobs) if labels else None


def fail_job(*, job_id, message: str, attempt: int | None = None) -> bool:
    rows = VideoJob.objects.filter(pk=job_id, status__in=(Status.QUEUED, Status.PROCESSING))
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    now = timezone.now()
    failed = bool(
        rows.update(status=Status.FAILED, error=message[:500], finished_at=now, heartbeat_at=now)
    )
    if failed:
        discard_video_file(job_id=job_id)
    return failed


def discard_video_file(*, job_id) -> None:
    """A finished job no longer needs its upload: results live in the database."""
    if settings.VIDEO_KEEP_FILES:
        return
    job = VideoJob.objects.filter(pk=job_id).only("file_path").first()
    if job is not None and job.file_path:
        remove_file(job_file_path(job))


def purge_expired_jobs(*, older_than_days: int | None = None) -> int:
    """Delete jobs finished longer ago than the retention period; returns how many."""
    days = settings.VIDEO_JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    expired = VideoJob.objects.filter(
        status__in=(Status.COMPLETED, Status.FAILED),
        finished_at__lt=timezone.now() - timedelta(days=days),
    )
    count = 0
    for job in expired.only("pk", "file_path"):
        job.delete()  # one by one, so videos.signals removes each file
        count += 1
    if count:
        logger.info("Purged %d video job(s) finished over %d days ago", count, days)
    return count


def run_job(*, job_id) -> str:
    """The actor's body: analyse the job once, whatever happened to earlier runs.

    Returns what happened (for logs and tests); raises RetryLater for a transient error
    while attempts remain.
    """
    job = claim_job(job_id=job_id)
    if job is None:
        logger.info("Video job %s: nothing to do (finished, deleted or running elsewhere)", job_id)
        return "skipped"
    logger.info("Video job %s: attempt %d started", job.pk, job.attempts)
    try:
        # A re-run (retry, crash recovery, duplicate message) starts from a clean slate.
        VideoDetection.objects.filter(job_id=job.pk).delete()
        path = job_file_path(job)
        if not path.exists():
            raise FileNotFoundError("the uploaded video is missing from MEDIA_ROOT")
        result = pipeline.analyze(
            path,
            features=job.features,
            sample_fps=job.sample_fps,
            gallery=_gallery(job),
            on_detections=lambda batch: _store_detections(job, batch),
            on_progress=_ProgressReporter(job),
        )
        now = timezone.now()
        finished = _lease(job).update(
            status=Status.COMPLETED,
            progress=100,
            summary=result.summary,
            finished_at=now,
            heartbeat_at=now,
        )
        if not finished:
            raise pipeline.JobCancelled()
        discard_video_file(job_id=job.pk)
        outcome = Status.COMPLETED
    except pipeline.JobCancelled:
        logger.info("Video job %s: cancelled or taken over; stopping", job.pk)
        return "cancelled"
    except (pipeline.VideoDecodeError, pipeline.EngineUnavailable, ValueError) as exc:
        fail_job(job_id=job.pk, message=str(exc) or type(exc).__name__, attempt=job.attempts)
        outcome = Status.FAILED
    except TRANSIENT_ERRORS as exc:
        if job.attempts < max_attempts():
            logger.warning("Video job %s: attempt %d hit %r; retrying", job.pk, job.attempts, exc)
            _release_for_retry(job, exc)
            raise RetryLater(_short_error(exc)) from exc
        logger.exception("Video job %s: giving up after %d attempts", job.pk, job.attempts)
        fail_job(
            job_id=job.pk,
            message=f"failed after {job.attempts} attempts: {_short_error(exc)}",
            attempt=job.attempts,
        )
        outcome = Status.FAILED
    except Exception as exc:  # noqa: BLE001 - any other error must end as a failed job
        logger.exception("Video job %s: analysis failed", job.pk)
        fail_job(
            job_id=job.pk, message=f"analysis failed: {_short_error(exc)}", attempt=job.attempts
        )
        outcome = Status.FAILED
    notify(job_id=job.pk)
    return outcome


def _release_for_retry(job: VideoJob, exc: BaseException) -> None:
    try:
        _lease(job).update(
            status=Status.QUEUED,
            enqueued_at=timezone.now(),
            error=f"attempt {job.attempts} hit a temporary error ({type(exc).__name__}); retrying",
        )
    except DatabaseError:
        # The database itself is down: the retry's claim or the sweeper picks the job up.
        logger.warning("Video job %s: could not release for retry", job.pk)


def fail_timed_out_job(*, job_id) -> None:
    limit_minutes = settings.VIDEO_JOB_TIME_LIMIT_SECONDS // 60
    fail_job(job_id=job_id, message=f"the analysis took longer than {limit_minutes} minutes")
    notify(job_id=job_id)


WEBHOOK_DELIVERING = "delivering"


def notify(*, job_id, stale_before=None) -> bool:
    """POST the signed webhook for a finished job and record how delivery went.

    Delivery is claimed first (webhook_status "" → "delivering", heartbeat_at = now) so
    that exactly one process sends it; the sweeper passes ``stale_before`` to take over a
    delivery whose process died before recording the outcome (at-least-once delivery).
    Returns whether this call delivered or tried to.
    """
    claimable = Q(webhook_status="")
    if stale_before is not None:
        claimable = (claimable | Q(webhook_status=WEBHOOK_DELIVERING)) & Q(
            heartbeat_at__lt=stale_before
        )
    claimed = (
        VideoJob.objects.filter(claimable, pk=job_id, status__in=(Status.COMPLETED, Status.FAILED))
        .exclude(callback_url="")
        .update(webhook_status=WEBHOOK_DELIVERING, heartbeat_at=timezone.now())
    )
    if not claimed:
        return False
    job = VideoJob.objects.get(pk=job_id)
    delivery = webhooks.deliver(
        url=job.callback_url,
        payload=webhooks.job_event(job),
        secret=webhooks.signing_secret(),
        attempts=settings.VIDEO_WEBHOOK_ATTEMPTS,
        timeout=settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS,
        backoff=settings.VIDEO_WEBHOOK_BACKOFF_SECONDS,
    )
    metrics.record_webhook_outcome(
        "delivered" if delivery.delivered else "failed" if delivery.attempts else "skipped"
    )
    job.webhook_status = delivery.describe()[:200]
    fields = ["webhook_status"]
    if job.summary is not None:
        job.summary = {**job.summary, "webhook": delivery.as_dict()}
        fields.append("summary")
    job.save(update_fields=fields)
    return True


# --- recovery (sweeper) --------------------------------------------------------------


def requeue_stale_jobs(
    *, stale_after_seconds: float | None = None, queued_after_seconds: float | None = None
) -> list:
    """Re-send jobs whose worker died and jobs whose message was lost; returns their ids.

    * processing, heartbeat older than ``stale_after_seconds``: the worker died (killed,
      OOM, host lost). Re-sent, unless it already used every attempt (a video that kills
      its worker every time), which fails it instead of looping forever.
    * queued, last sent longer than ``queued_after_seconds`` ago: the message was lost
      (the in-process broker of a restarted server, a flushed Redis).
    * finished with a callback_url but no recorded webhook outcome, silent for as long:
      the worker died before or while delivering; the webhook is sent from here.
    Re-sending is safe: a duplicate message finds the job claimed and does nothing.
    """
    if stale_after_seconds is None:
        stale_after_seconds = settings.VIDEO_JOB_STALE_SECONDS
    if queued_after_seconds is None:
        queued_after_seconds = settings.VIDEO_JOB_QUEUED_RESEND_SECONDS
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_seconds)
    lost = now - timedelta(seconds=queued_after_seconds)
    dead_worker = Q(status=Status.PROCESSING) & (
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
    ) & (Q(enqueued_at__lt=stale) | Q(enqueued_at__isnull=True))
    lost_message = Q(status=Status.QUEUED) & (Q(enqueued_at__lt=lost) | Q(enqueued_at__isnull=True))
    requeued = []
    for job in VideoJob.objects.filter(dead_worker | lost_message).only("pk", "status", "attempts"):
        if job.status == Status.PROCESSING and job.attempts >= max_attempts():
            if fail_job(
                job_id=job.pk,
                message=f"the worker stopped responding {job.attempts} times on this video",
                attempt=job.attempts,
            ):
                notify(job_id=job.pk)
            continue
        if _resend(job, before=stale if job.status == Status.PROCESSING else lost):
            requeued.append(job.pk)
    if requeued:
        logger.warning("Re-queued %d video job(s): %s", len(requeued), requeued)
    _deliver_missed_webhooks(stale_before=stale)
    return requeued


def _deliver_missed_webhooks(*, stale_before) -> None:
    """Finished jobs whose worker died before or while sending the webhook."""
    missed = (
        VideoJob.objects.filter(status__in=(Status.COMPLETED, Status.FAILED))
        .exclude(callback_url="")
        .filter(webhook_status__in=("", WEBHOOK_DELIVERING), heartbeat_at__lt=stale_before)
        .values_list("pk", flat=True)
    )
    for job_id in list(missed):
        if notify(job_id=job_id, stale_before=stale_before):
            logger.warning("Video job %s: delivered a webhook its worker never recorded", job_id)


@transaction.atomic
def _resend(job: VideoJob, *, before) -> bool:
    # Conditional on what we saw, so two sweepers never both re-send one job.
    rows = VideoJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).filter(
        Q(enqueued_at__lt=before) | Q(enqueued_at__isnull=True)
    )
    if not rows.update(enqueued_at=timezone.now()):
        return False
    _queue_analysis(job.pk)
    return True
