"""What the analysis worker does with a job: claim it, hold its lease, report progress,
run the pipeline, finish or fail it.

The job row is the source of truth and the queue message only carries its id. ``run_job``
(the analyze_video actor's body) first *claims* the job with one conditional UPDATE that
also bumps ``attempts``. The attempt number is the run's lease: every later write
(progress, detections, completion) is conditional on it, so a run whose job was
cancelled, deleted or handed to another worker notices at its next write, or at the
status check after each sampled frame, and stops.

Fair share: an account runs at most VISIONERA_MAX_RUNNING_VIDEO_JOBS jobs at once. A
message whose account already runs that many is not run and costs no attempt: the job
stays queued and its message is sent again DEFER_SECONDS later (``defer_job``), so the
worker thread goes on to other accounts' messages instead of one account's twenty long
videos holding every worker for hours.

Never imports videos.tasks (which imports this module): messages go through videos.messages.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from faces import selectors as face_selectors
from videos import messages, pipeline, webhooks
from videos.limits import video_limits
from videos.models import VideoDetection, VideoJob

logger = logging.getLogger(__name__)

Status = VideoJob.Status

# Errors worth another attempt: the database or the file store hiccuped, not the video.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)


# How long a job whose account already runs its share of jobs waits before its message
# comes back (plus up to a fifth more, so an account's waiting messages spread out instead
# of arriving together). The job it waits for runs from seconds to ~25 minutes, so 5 s
# adds little to when the account's next job starts once a slot frees, while each waiting
# job costs one short transaction every 5 s (an account's 19 waiting jobs: about 4 a
# second, spread over every worker). It is the actor's first retry backoff too.
DEFER_SECONDS = 5.0


class RetryLater(Exception):
    """Raised out of the actor so Dramatiq retries the message with backoff."""


class AccountBusy(Exception):
    """The job's account already has its VISIONERA_MAX_RUNNING_VIDEO_JOBS jobs running."""


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


def max_running_jobs() -> int:
    """How many of one account's jobs may be processing at once (at least 1)."""
    return max(1, int(settings.VISIONERA_MAX_RUNNING_VIDEO_JOBS))


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


def _stale_before(now):
    """Heartbeats older than this are a dead worker's (VIDEO_JOB_STALE_SECONDS)."""
    return now - timedelta(seconds=settings.VIDEO_JOB_STALE_SECONDS)


def _claimable(*, stale) -> Q:
    """Jobs a run may take: queued, or processing with a heartbeat older than ``stale``
    (their worker died). The complement, processing with a newer heartbeat, is a live run."""
    return Q(status=Status.QUEUED) | Q(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True), status=Status.PROCESSING
    )


def claim_job(*, job_id) -> VideoJob | None:
    """Take the job for this run, or None when it is finished, gone or run elsewhere.

    Raises AccountBusy, changing nothing, when the job's account already has
    ``max_running_jobs()`` other jobs processing with a live heartbeat (a job whose
    worker died, by the same staleness rule, holds no slot).

    The claim and the count are one transaction, serialised per account across worker
    processes and hosts: on PostgreSQL the owner's row is locked (as create_job locks it
    to count unfinished jobs) after the conditional UPDATE and before the count, so of two
    claims of one account's jobs the second counts once the first has committed; SQLite
    transactions take the database's write lock when they begin (IMMEDIATE). The UPDATE
    comes first, so the claim locks the job row before the owner row, in the order a
    cancel does (it locks the job row, then inserts its webhook delivery, whose foreign
    key share-locks the owner row): the opposite order could deadlock with it.
    """
    now = timezone.now()
    stale = _stale_before(now)
    try:
        with transaction.atomic():
            claimed = VideoJob.objects.filter(_claimable(stale=stale), pk=job_id).update(
                status=Status.PROCESSING,
                started_at=Coalesce(F("started_at"), Value(now)),
                heartbeat_at=now,
                attempts=F("attempts") + 1,
                error="",
            )
            if not claimed:
                return None
            job = VideoJob.objects.get(pk=job_id)
            get_user_model().objects.select_for_update().filter(pk=job.owner_id).first()
            running = (
                VideoJob.objects.filter(
                    owner_id=job.owner_id, status=Status.PROCESSING, heartbeat_at__gte=stale
                )
                .exclude(pk=job.pk)
                .count()
            )
            if running >= max_running_jobs():
                raise AccountBusy(f"the account already runs {running} video job(s)")
    except AccountBusy:
        # Leaving the block rolled the claim back: status, attempts and heartbeat as before.
        logger.info("Video job %s: its account already runs its share; deferred", job_id)
        raise
    return job


def defer_job(*, job_id) -> bool:
    """Send the message of a job whose account is busy again, DEFER_SECONDS later.

    A fresh message, not a Dramatiq retry: it counts against neither the actor's
    max_retries nor the job's attempts, and has no backoff. ``enqueued_at`` records the
    send, so the sweeper leaves the job alone while its message goes round and re-sends it
    if that message is lost (a restarted web process's in-memory broker, a flushed
    Redis). A job cancelled, finished or deleted meanwhile is not sent again (False).
    """
    stale = _stale_before(timezone.now())
    with transaction.atomic():
        sent = VideoJob.objects.filter(_claimable(stale=stale), pk=job_id).update(
            enqueued_at=timezone.now()
        )
        if sent:
            delay = DEFER_SECONDS * random.uniform(1.0, 1.2)  # noqa: S311 - jitter, not a secret
            messages.queue_analysis(job_id, delay_seconds=delay)
    return bool(sent)


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

    Returns what happened (for logs and tests): "deferred" when the job's account already
    runs its share of jobs (the message comes back later, defer_job); raises RetryLater
    for a transient error while attempts remain.
    """
    try:
        job = claim_job(job_id=job_id)
    except AccountBusy:
        defer_job(job_id=job_id)
        return "deferred"
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
