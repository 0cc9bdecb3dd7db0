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

import base64
import logging
import secrets
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from faces import selectors as face_selectors
from videos import callback_urls, pipeline, webhooks
from videos.models import VideoDetection, VideoJob, WebhookDelivery, WebhookSecret
from vision.media import StoredVideo
from visionera import metrics
from visionera.api.uploads import remove_file, video_limits
from visionera.worker import embedded_worker, send_on_commit

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
def cancel_job(*, job: VideoJob) -> VideoJob:
    """Stop a queued or running job and keep it, marked `cancelled`; a finished job is
    returned as it is. The worker notices the status at its next frame and stops."""
    VideoJob.objects.filter(pk=job.pk).exclude(status__in=VideoJob.FINISHED_STATUSES).update(
        status=VideoJob.Status.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
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
    labels, blobs = face_selectors.descriptor_list(collection_id=job.collection_id)
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
    for job in list(expired.only("pk", "file_path")):
        try:
            job.delete()  # one by one, so videos.signals removes each file
            count += 1
        except Exception:  # noqa: BLE001 - one job that cannot go never keeps the others
            logger.exception("Retention: video job %s could not be purged", job.pk)
    prune_webhook_deliveries(older_than_days=days)
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
        if path is None or not path.exists():
            raise FileNotFoundError("the uploaded video is missing from MEDIA_ROOT")
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


# --- webhooks --------------------------------------------------------------------------
#
# A finished job with a callback_url gets one WebhookDelivery row (one webhook-id); the
# analysis worker only writes that row and queues deliver_webhook on the "webhooks" queue.
# Each message is one attempt (videos.webhooks.post_once: checked address, overall
# deadline, capped answer, no redirects); a failed attempt schedules the next one with
# backoff, and the row records every outcome. The sweeper re-sends deliveries whose message
# or worker was lost.

Delivery = WebhookDelivery.Status
WEBHOOK_TEST_EVENT = "webhook.test"


def webhook_allow_list() -> callback_urls.AllowList:
    return callback_urls.AllowList.parse(settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS)


def check_callback_url(url: str) -> callback_urls.CheckedUrl:
    """The single entry to the callback rule (submit, test event and every attempt)."""
    return callback_urls.check(url, allowed=webhook_allow_list())


def _new_webhook_secret() -> str:
    return webhooks.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def get_webhook_secret(*, owner) -> WebhookSecret:
    """The account's secret, created on first use."""
    row, _ = WebhookSecret.objects.get_or_create(
        owner=owner, defaults={"secret": _new_webhook_secret()}
    )
    return row


@transaction.atomic
def rotate_webhook_secret(*, owner) -> WebhookSecret:
    """A new secret; the current one keeps signing beside it for the overlap (24 h)."""
    get_webhook_secret(owner=owner)
    row = WebhookSecret.objects.select_for_update().get(owner=owner)
    now = timezone.now()
    row.previous_secret = row.secret
    row.previous_expires_at = now + timedelta(
        seconds=settings.VIDEO_WEBHOOK_ROTATION_OVERLAP_SECONDS
    )
    row.secret = _new_webhook_secret()
    row.rotated_at = now
    row.save()
    return row


def signing_secrets(row: WebhookSecret, *, now=None) -> list[str]:
    """The current secret, then the previous one while its overlap lasts."""
    now = now or timezone.now()
    live = [row.secret]
    if row.previous_secret and row.previous_expires_at and row.previous_expires_at > now:
        live.append(row.previous_secret)
    return live


def job_event(job: VideoJob) -> dict:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return {
        "type": f"video.{job.status}",
        "timestamp": (job.finished_at or timezone.now()).isoformat(),
        "data": {
            "account_id": job.owner_id,
            "job_id": str(job.pk),
            "status": job.status,
            "error": job.error or None,
            "summary": job.summary,
            "status_path": reverse("videos:detail", args=[job.pk]),
            "results_path": reverse("videos:results", args=[job.pk]),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        },
    }


def _queue_delivery(delivery_id, *, delay_seconds: float = 0) -> None:
    from videos.tasks import deliver_webhook

    def send():
        try:
            embedded_worker()
            options = {"delay": int(delay_seconds * 1000)} if delay_seconds > 0 else {}
            deliver_webhook.send_with_options(args=(str(delivery_id),), **options)
        except Exception:  # noqa: BLE001 - the row waits; the sweeper re-sends it
            logger.exception("Could not queue webhook delivery %s", delivery_id)

    transaction.on_commit(send)


def notify(*, job_id) -> WebhookDelivery | None:
    """Record the webhook of a finished job and queue its delivery (once per job).

    Cheap on purpose: the analysis worker never waits for a receiver. Never raises: a
    webhook that could not be recorded now is recorded by the sweeper.
    """
    try:
        return _notify(job_id)
    except Exception:  # noqa: BLE001
        logger.exception("Video job %s: could not record its webhook; the sweeper will", job_id)
        return None


def _notify(job_id) -> WebhookDelivery | None:
    job = (
        VideoJob.objects.filter(pk=job_id, status__in=(Status.COMPLETED, Status.FAILED))
        .exclude(callback_url="")
        .first()
    )
    if job is None or WebhookDelivery.objects.filter(job_id=job.pk).exists():
        return None
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                owner_id=job.owner_id,
                job=job,
                event=f"video.{job.status}",
                url=job.callback_url,
                payload=job_event(job),
                due_at=timezone.now(),
            )
            VideoJob.objects.filter(pk=job.pk).update(webhook_status=Delivery.PENDING)
            _queue_delivery(delivery.pk)
    except IntegrityError:  # another process recorded it first (one delivery per job)
        return None
    return delivery


TEST_EVENTS_PER_MINUTE = 10


class TooManyTestEvents(Exception):
    pass


def send_test_event(*, owner, url: str) -> WebhookDelivery:
    """A "webhook.test" event to ``url`` through the same rule and delivery path.

    Raises callback_urls.CallbackUrlRefused for a URL the rule refuses, TooManyTestEvents
    past TEST_EVENTS_PER_MINUTE (the page must not become a request cannon).
    """
    check_callback_url(url)  # outside the transaction: it may wait on DNS
    now = timezone.now()
    recent = WebhookDelivery.objects.filter(
        owner=owner, event=WEBHOOK_TEST_EVENT, created_at__gte=now - timedelta(minutes=1)
    )
    if recent.count() >= TEST_EVENTS_PER_MINUTE:
        raise TooManyTestEvents(
            f"at most {TEST_EVENTS_PER_MINUTE} test events a minute; try again shortly"
        )
    with transaction.atomic():
        return _create_test_event(owner=owner, url=url, now=now)


def _create_test_event(*, owner, url, now) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        owner=owner,
        event=WEBHOOK_TEST_EVENT,
        url=url,
        payload={
            "type": WEBHOOK_TEST_EVENT,
            "timestamp": now.isoformat(),
            "data": {"account_id": owner.pk, "message": "A test event from VisionEra."},
        },
        due_at=now,
    )
    _queue_delivery(delivery.pk)
    return delivery


def public_outcome(delivery: WebhookDelivery) -> dict:
    """What the API and the dashboard may say: never an error text (no network oracle)."""
    delivered = delivery.status == Delivery.DELIVERED
    return {
        "delivered": delivered,
        "attempts": delivery.attempts,
        "status_code": delivery.status_code if delivered else None,
    }


def _claim_delivery(delivery_id) -> WebhookDelivery | None:
    """Take one attempt: pending and due (a duplicate message never skips the backoff)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Delivery.PENDING, due_at__lte=now + timedelta(seconds=1)
    ).update(status=Delivery.DELIVERING, attempts=F("attempts") + 1, due_at=now)
    return WebhookDelivery.objects.filter(pk=delivery_id).first() if claimed else None


def attempt_delivery(*, delivery_id) -> str:
    """The deliver_webhook actor's body: one attempt, its outcome recorded; never raises.

    Returns the delivery's status after this attempt ("skipped" when there was nothing to do).
    """
    try:
        delivery = _claim_delivery(delivery_id)
        if delivery is None:
            return "skipped"
        attempt = _post_delivery(delivery)
        return _record_attempt(delivery, attempt)
    except Exception:  # noqa: BLE001 - e.g. the database went away: the sweeper re-sends
        logger.exception("Webhook delivery %s: could not run the attempt", delivery_id)
        return "error"


def _post_delivery(delivery: WebhookDelivery) -> webhooks.Attempt:
    try:
        checked = check_callback_url(delivery.url)  # again: DNS may have changed
    except callback_urls.CallbackUrlRefused as exc:
        return webhooks.Attempt(False, None, f"refused at delivery: {exc}")
    body = webhooks.encode_body(delivery.payload)
    headers = webhooks.signed_headers(
        message_id=delivery.message_id,
        body=body,
        secrets=signing_secrets(get_webhook_secret(owner=delivery.owner)),
    )
    return webhooks.post_once(
        checked,
        body=body,
        headers=headers,
        deadline_seconds=settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS,
        max_response_bytes=settings.VIDEO_WEBHOOK_MAX_RESPONSE_BYTES,
    )


def _record_attempt(delivery: WebhookDelivery, attempt: webhooks.Attempt) -> str:
    now = timezone.now()
    fields = {"status_code": attempt.status_code, "error": attempt.error[:300]}
    retry_in = None
    if attempt.delivered:
        fields.update(status=Delivery.DELIVERED, finished_at=now, error="")
    elif delivery.attempts < max(1, settings.VIDEO_WEBHOOK_ATTEMPTS):
        retry_in = settings.VIDEO_WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
        fields.update(status=Delivery.PENDING, due_at=now + timedelta(seconds=retry_in))
    else:
        fields.update(status=Delivery.FAILED, finished_at=now)
    logger.log(
        logging.INFO if attempt.delivered else logging.WARNING,
        "Webhook delivery %s: attempt %d %s",
        delivery.pk, delivery.attempts, "delivered" if attempt.delivered else attempt.error,
    )
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Delivery.DELIVERING, attempts=delivery.attempts
        ).update(**fields)
        if not updated:  # taken over by the sweeper after a long stall: its run records
            return "skipped"
        for name, value in fields.items():
            setattr(delivery, name, value)
        if retry_in is not None:
            _queue_delivery(delivery.pk, delay_seconds=retry_in)
        elif delivery.job_id is not None:
            _record_on_job(delivery)
    if retry_in is None:
        metrics.record_webhook_outcome("delivered" if attempt.delivered else "failed")
    return delivery.status


def _record_on_job(delivery: WebhookDelivery) -> None:
    job = VideoJob.objects.select_for_update().filter(pk=delivery.job_id).first()
    if job is None:
        return
    outcome = public_outcome(delivery)
    job.webhook_status = (
        f"delivered (HTTP {delivery.status_code}) after {delivery.attempts} attempt(s)"
        if outcome["delivered"]
        else f"failed after {delivery.attempts} attempt(s): {delivery.error}"
    )[:200]
    fields = ["webhook_status"]
    if isinstance(job.summary, dict):
        job.summary = {**job.summary, "webhook": outcome}
        fields.append("summary")
    job.save(update_fields=fields)


def prune_webhook_deliveries(*, older_than_days: int | None = None) -> int:
    """Delivery records not tied to a job (test events) go after the retention period."""
    days = settings.VIDEO_JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    deleted, _ = WebhookDelivery.objects.filter(
        job__isnull=True, created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted


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
    * webhooks whose worker or message was lost (deliver_missed_webhooks).
    Re-sending is safe: a duplicate message finds the job claimed and does nothing. Each
    job is handled in its own try, so one that fails never stops the others.
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
    candidates = VideoJob.objects.filter(dead_worker | lost_message)
    for job in list(candidates.only("pk", "status", "attempts")):
        # Each job in its own try: one that cannot be handled never stops the others.
        try:
            if _recover_job(job, stale=stale, lost=lost):
                requeued.append(job.pk)
        except Exception:  # noqa: BLE001
            logger.exception("Sweeper: video job %s could not be recovered", job.pk)
    if requeued:
        logger.warning("Re-queued %d video job(s): %s", len(requeued), requeued)
    deliver_missed_webhooks(stale_before=stale)
    return requeued


def _recover_job(job: VideoJob, *, stale, lost) -> bool:
    if job.status == Status.PROCESSING and job.attempts >= max_attempts():
        if fail_job(
            job_id=job.pk,
            message=f"the worker stopped responding {job.attempts} times on this video",
            attempt=job.attempts,
        ):
            notify(job_id=job.pk)
        return False
    return _resend(job, before=stale if job.status == Status.PROCESSING else lost)


def deliver_missed_webhooks(*, stale_before) -> None:
    """Webhooks whose worker or queue message was lost, each in its own try.

    * a finished job with a callback_url but no delivery record, silent since before
      ``stale_before``: its worker died between finishing and recording the webhook;
    * a delivery pending since before ``stale_before`` (its message was lost) or stuck
      delivering that long and longer than an attempt can last (its worker died
      mid-attempt): sent again. The conditional UPDATE on ``due_at`` makes concurrent
      sweepers send it once.
    """
    unrecorded = (
        VideoJob.objects.filter(
            status__in=(Status.COMPLETED, Status.FAILED), heartbeat_at__lt=stale_before
        )
        .exclude(callback_url="")
        .filter(webhook_deliveries__isnull=True)
        .values_list("pk", flat=True)
    )
    for job_id in list(unrecorded):
        try:
            if notify(job_id=job_id):
                logger.warning("Video job %s: queued a webhook its worker never recorded", job_id)
        except Exception:  # noqa: BLE001
            logger.exception("Sweeper: the webhook of video job %s could not be queued", job_id)
    # An attempt in progress may legitimately last its whole deadline (plus DNS): only one
    # silent for longer than that has lost its worker.
    attempt_bound = timezone.now() - timedelta(
        seconds=settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS + callback_urls.DNS_TIMEOUT_SECONDS + 30
    )
    stuck = WebhookDelivery.objects.filter(
        Q(status=Delivery.PENDING, due_at__lt=stale_before)
        | Q(status=Delivery.DELIVERING, due_at__lt=min(stale_before, attempt_bound))
    ).values_list("pk", "status", "attempts", "due_at")
    for delivery_id, status, attempts, due_at in list(stuck):
        try:
            _resend_delivery(delivery_id, status=status, attempts=attempts, due_at=due_at)
        except Exception:  # noqa: BLE001
            logger.exception("Sweeper: webhook delivery %s could not be re-sent", delivery_id)


@transaction.atomic
def _resend_delivery(delivery_id, *, status, attempts, due_at) -> None:
    rows = WebhookDelivery.objects.filter(
        pk=delivery_id, status=status, attempts=attempts, due_at=due_at
    )
    if status == Delivery.DELIVERING and attempts >= max(1, settings.VIDEO_WEBHOOK_ATTEMPTS):
        # The worker died during the last attempt: that attempt counts, and it was the last.
        if rows.update(status=Delivery.FAILED, finished_at=timezone.now(),
                       error="the worker stopped during the last attempt"):
            delivery = WebhookDelivery.objects.get(pk=delivery_id)
            if delivery.job_id is not None:
                _record_on_job(delivery)
        return
    if rows.update(status=Delivery.PENDING, due_at=timezone.now()):
        logger.warning("Webhook delivery %s: re-sent (its message or worker was lost)", delivery_id)
        _queue_delivery(delivery_id)


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
