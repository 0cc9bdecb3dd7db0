"""Webhooks of video jobs: signing secrets, events, and the bookkeeping of their delivery.

A finished job with a callback_url gets one WebhookDelivery row (one webhook-id); the
analysis worker only writes that row and queues deliver_webhook on the "webhooks" queue.
Each message is one attempt (videos.webhook_http.post_once: checked address, overall
deadline, capped answer, no redirects); a failed attempt schedules the next one with
backoff, and the row records every outcome. The sweeper (deliver_missed_webhooks) re-sends
deliveries whose message or worker was lost.
"""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from videos import callback_urls, messages, webhook_http
from videos.errors import CallbackUrlNotAllowed, TooManyTestEvents
from videos.models import VideoJob, WebhookDelivery, WebhookSecret
from visionera import metrics

logger = logging.getLogger(__name__)

Delivery = WebhookDelivery.Status
WEBHOOK_TEST_EVENT = "webhook.test"
TEST_EVENTS_PER_MINUTE = 10


def webhook_allow_list() -> callback_urls.AllowList:
    return callback_urls.AllowList.parse(settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS)


def check_callback_url(url: str, *, owner_id) -> callback_urls.CheckedUrl:
    """The single entry to the callback rule (submit, test event and every attempt).

    Raises CallbackUrlNotAllowed (code `invalid_callback_url`) for an address it refuses.
    The lookup takes one of the owner's DNS slots: one account's slow names cannot hold up
    another account's callbacks.
    """
    try:
        return callback_urls.check(url, allowed=webhook_allow_list(),
                                   caller=f"account:{owner_id}")
    except callback_urls.CallbackUrlRefused as exc:
        raise CallbackUrlNotAllowed(str(exc)) from None


# --- signing secrets ---------------------------------------------------------------------


def _new_webhook_secret() -> str:
    return webhook_http.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def get_webhook_secret(*, owner) -> WebhookSecret:
    """The account's secret, created on first use."""
    row, _ = WebhookSecret.objects.get_or_create(
        owner=owner, defaults={"secret": _new_webhook_secret()}
    )
    return row


# Secrets still in their overlap after several quick rotations: each adds a signature to
# every delivery, so the oldest beyond this many stops signing early.
MAX_PREVIOUS_SECRETS = 4


@transaction.atomic
def rotate_webhook_secret(*, owner) -> WebhookSecret:
    """A new secret; the current one keeps signing beside it for the overlap (24 h), and so
    do earlier ones still in theirs."""
    get_webhook_secret(owner=owner)
    row = WebhookSecret.objects.select_for_update().get(owner=owner)
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.VIDEO_WEBHOOK_ROTATION_OVERLAP_SECONDS)
    row.previous_secrets = [{"secret": row.secret, "expires_at": expires_at.isoformat()},
                            *row.previous_live(now)][:MAX_PREVIOUS_SECRETS]
    row.secret = _new_webhook_secret()
    row.rotated_at = now
    row.save()
    return row


def signing_secrets(row: WebhookSecret, *, now=None) -> list[str]:
    """The current secret, then the previous ones while their overlap lasts, newest first."""
    return [row.secret, *(entry["secret"] for entry in row.previous_live(now or timezone.now()))]


# --- events ------------------------------------------------------------------------------


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
        VideoJob.objects.filter(pk=job_id, status__in=VideoJob.FINISHED_STATUSES)
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
            messages.queue_delivery(delivery.pk)
    except IntegrityError:  # another process recorded it first (one delivery per job)
        return None
    return delivery


def send_test_event(*, owner, url: str) -> WebhookDelivery:
    """A "webhook.test" event to ``url`` through the same rule and delivery path.

    Raises CallbackUrlNotAllowed for a URL the rule refuses, TooManyTestEvents past
    TEST_EVENTS_PER_MINUTE (the page must not become a request cannon).
    """
    now = timezone.now()
    recent = WebhookDelivery.objects.filter(
        owner=owner, event=WEBHOOK_TEST_EVENT, created_at__gte=now - timedelta(minutes=1)
    )
    if recent.count() >= TEST_EVENTS_PER_MINUTE:  # before DNS: a refused sender waits on none
        raise TooManyTestEvents(
            f"at most {TEST_EVENTS_PER_MINUTE} test events a minute; try again shortly"
        )
    check_callback_url(url, owner_id=owner.pk)  # outside the transaction: it may wait on DNS
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
    messages.queue_delivery(delivery.pk)
    return delivery


def public_outcome(delivery: WebhookDelivery) -> dict:
    """What the API and the dashboard may say (the contract): delivered or not, attempts,
    and the receiver's HTTP status when it answered one, failures included. Never an error
    text, a header or a body: a refused connection or a timeout has no status (no network
    oracle), and the rule already kept the receiver off internal addresses."""
    return {
        "delivered": delivery.status == Delivery.DELIVERED,
        "attempts": delivery.attempts,
        "status_code": delivery.status_code,
    }


# --- delivery attempts (the deliver_webhook actor) ----------------------------------------


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


def _post_delivery(delivery: WebhookDelivery) -> webhook_http.Attempt:
    try:
        checked = check_callback_url(delivery.url, owner_id=delivery.owner_id)  # DNS may change
    except CallbackUrlNotAllowed as exc:
        return webhook_http.Attempt(False, None, f"refused at delivery: {exc}")
    body = webhook_http.encode_body(delivery.payload)
    headers = webhook_http.signed_headers(
        message_id=delivery.message_id,
        body=body,
        secrets=signing_secrets(get_webhook_secret(owner=delivery.owner)),
    )
    return webhook_http.post_once(
        checked,
        body=body,
        headers=headers,
        deadline_seconds=settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS,
        max_response_bytes=settings.VIDEO_WEBHOOK_MAX_RESPONSE_BYTES,
    )


def _record_attempt(delivery: WebhookDelivery, attempt: webhook_http.Attempt) -> str:
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
            messages.queue_delivery(delivery.pk, delay_seconds=retry_in)
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


# --- recovery and retention (the sweeper) --------------------------------------------------


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
            status__in=VideoJob.FINISHED_STATUSES, heartbeat_at__lt=stale_before
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
        messages.queue_delivery(delivery_id)


def prune_webhook_deliveries(*, older_than_days: int | None = None) -> int:
    """Delivery records not tied to a job (test events) go after the retention period."""
    days = settings.VIDEO_JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    deleted, _ = WebhookDelivery.objects.filter(
        job__isnull=True, created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted
