"""What the analysis worker does with a job: claim it, hold its lease, report progress,
run the pipeline, finish or fail it.

The job row is the source of truth and the queue message only carries its id. ``run_job``
(the analyze_video actor's body) first *claims* the job with one conditional UPDATE that
also bumps ``attempts``. The attempt number is the run's lease: every later write
(progress, detections, completion) is conditional on it, so a run whose job was
cancelled, deleted or handed to another worker notices at its next write, or at the
status check after each sampled frame, and stops.

Never imports videos.tasks (which imports this module): messages go through videos.messages.
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

from faces import selectors as face_selectors
from videos import pipeline, webhooks
from videos.limits import video_limits
from videos.models import VideoDetection, VideoJob

logger = logging.getLogger(__name__)

Status = VideoJob.Status

# Errors worth another attempt: the database or the file store hiccuped, not the video.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)


class RetryLater(Exception):
    """Raised out of the actor so Dramatiq retries the message with backoff."""


class VideoFileMissing(FileNotFoundError):
    """The job's upload is not in MEDIA_ROOT (a shared volume not mounted yet, say)."""


# Errors whose text we wrote for the job's owner: the job's error shows it as it is.
PUBLIC_ERRORS = (
    pipeline.VideoDecodeError,
    pipeline.EngineUnavailable,
    ValueError,  # pipeline.analyze's own checks of its options
    VideoFileMissing,
)


def max_attempts() -> int:
    return max(1, int(settings.VIDEO_JOB_MAX_ATTEMPTS))


def job_file_path(job: VideoJob) -> Path | None:
    """The job's video, always inside MEDIA_ROOT: None for no path, an absolute one, or one
    that resolves (through `..` or a symlink) outside it. The one place a job's file is
    resolved, so no read or delete can reach a file elsewhere."""
    if not job.file_path:
        return None
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / job.file_path).resolve()
    if Path(job.file_path).is_absolute() or not path.is_relative_to(root) or path == root:
        logger.warning("Video job %s: file_path outside MEDIA_ROOT ignored", job.pk)
        return None
    return path


def remove_file(path: Path | None) -> None:
    if path is not None:
        Path(path).unlink(missing_ok=True)


def discard_video_file(*, job_id) -> None:
    """A finished job no longer needs its upload: results live in the database."""
    if settings.VIDEO_KEEP_FILES:
        return
    job = VideoJob.objects.filter(pk=job_id).only("file_path").first()
    if job is not None and job.file_path:
        remove_file(job_file_path(job))


def _public_error(exc: BaseException) -> str:
    """What a job's error may tell its owner about ``exc``. Any exception but our own may
    carry internals in its text — PostgreSQL's IntegrityError names the relation and the
    constraint, an OperationalError the database host, an OSError a path — so theirs goes
    to the log only and the client reads what kind of failure it was."""
    if isinstance(exc, PUBLIC_ERRORS):
        return str(exc) or type(exc).__name__
    if isinstance(exc, TRANSIENT_ERRORS):
        return f"a temporary error ({type(exc).__name__}) persisted"
    return "an internal error (the details are in the server's log)"


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[:300]


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
    """Called by the pipeline after every sampled frame: checks the run still owns the job
    (a cancelled job stops at the next frame), and writes progress (never lower) and the
    heartbeat at most about once a second."""

    def __init__(self, job: VideoJob) -> None:
        self.job = job
        self.last_percent = -1
        self.last_write = 0.0

    def __call__(self, percent: int) -> None:
        now = time.monotonic()
        since = now - self.last_write
        interval = settings.VIDEO_JOB_HEARTBEAT_SECONDS
        if not ((percent > self.last_percent and since >= min(1.0, interval)) or since >= interval):
            # One indexed primary-key lookup per sampled frame, next to tens of
            # milliseconds of analysis: a cancellation never waits for the next write.
            if not _lease(self.job).exists():
                raise pipeline.JobCancelled()
            return
        updated = _lease(self.job).update(
            progress=Greatest(F("progress"), Value(percent)), heartbeat_at=timezone.now()
        )
        if not updated:
            raise pipeline.JobCancelled()
        self.last_percent, self.last_write = percent, now


def _store_detections(job: VideoJob, detections: list[pipeline.FrameFinding]) -> None:
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


def _gallery(job: VideoJob) -> pipeline.LabelGallery | None:
    if job.collection_id is None or "faces" not in job.features:
        return None
    labels, blobs = face_selectors.descriptor_list(collection_id=job.collection_id)
    return pipeline.LabelGallery.from_labelled_blobs(labels, blobs) if labels else None


def fail_job(*, job_id, message: str, attempt: int | None = None) -> bool:
    rows = VideoJob.objects.filter(pk=job_id, status__in=VideoJob.UNFINISHED_STATUSES)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    now = timezone.now()
    failed = bool(
        rows.update(status=Status.FAILED, error=message[:500], finished_at=now, heartbeat_at=now)
    )
    if failed:
        discard_video_file(job_id=job_id)
    return failed


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
        if path is None or not path.exists():
            raise VideoFileMissing("the uploaded video is missing from MEDIA_ROOT")
        result = pipeline.analyze(
            path,
            features=job.features,
            sample_fps=job.sample_fps,
            gallery=_gallery(job),
            on_detections=lambda batch: _store_detections(job, batch),
            on_progress=_ProgressReporter(job),
            limits=video_limits(),
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
        return _stopped(job)
    except (pipeline.VideoDecodeError, pipeline.EngineUnavailable, ValueError) as exc:
        if _lost_lease(job):  # cancelled while opening the file its cancel removed
            return _stopped(job)
        fail_job(job_id=job.pk, message=_public_error(exc), attempt=job.attempts)
        outcome = Status.FAILED
    except TRANSIENT_ERRORS as exc:
        if _lost_lease(job):  # cancelled before the file was opened: not worth a retry
            return _stopped(job)
        if job.attempts < max_attempts():
            logger.warning("Video job %s: attempt %d hit %r; retrying", job.pk, job.attempts, exc)
            _release_for_retry(job, exc)
            raise RetryLater(_short_error(exc)) from exc
        logger.exception("Video job %s: giving up after %d attempts", job.pk, job.attempts)
        fail_job(
            job_id=job.pk,
            message=f"failed after {job.attempts} attempts: {_public_error(exc)}",
            attempt=job.attempts,
        )
        outcome = Status.FAILED
    except Exception as exc:  # noqa: BLE001 - any other error must end as a failed job
        logger.exception("Video job %s: analysis failed", job.pk)
        fail_job(
            job_id=job.pk, message=f"analysis failed: {_public_error(exc)}", attempt=job.attempts
        )
        outcome = Status.FAILED
    webhooks.notify(job_id=job.pk)
    return outcome


def _lost_lease(job: VideoJob) -> bool:
    """The run no longer owns its job (cancelled, deleted or taken over); False when the
    database cannot say, so a transient error still takes its retry."""
    try:
        return not _lease(job).exists()
    except DatabaseError:
        return False


def _stopped(job: VideoJob) -> str:
    """The run lost its job. Cancelled: its upload goes now (the cancellation recorded the
    webhook); deleted: the file left with the row; taken over: the new run owns the file."""
    if VideoJob.objects.filter(pk=job.pk, status=Status.CANCELLED).exists():
        discard_video_file(job_id=job.pk)
        logger.info("Video job %s: cancelled; stopped", job.pk)
    else:
        logger.info("Video job %s: deleted or taken over; stopping", job.pk)
    return Status.CANCELLED


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
    webhooks.notify(job_id=job_id)
