"""Reads for video jobs: every lookup is scoped to the owner (another account's job is 404)."""

from django.db.models import QuerySet

from videos import webhooks
from videos.errors import VideoJobNotFound
from videos.models import VideoDetection, VideoJob, WebhookDelivery
from visionera.ids import parse_uuid

# A job's webhook outcome is read with it (webhook_outcome), in one query for a whole page.
_WITH_DELIVERY = "webhook_deliveries"


def job_list(*, owner) -> QuerySet[VideoJob]:
    return (
        VideoJob.objects.filter(owner=owner)
        .prefetch_related(_WITH_DELIVERY)
        .order_by("-created_at", "-id")
    )


def job_get(*, owner, job_id) -> VideoJob:
    """The caller's job, or VideoJobNotFound (also for a malformed id or another account's
    job)."""
    parsed = parse_uuid(job_id)
    jobs = VideoJob.objects.filter(owner=owner, pk=parsed).prefetch_related(_WITH_DELIVERY)
    job = jobs.first() if parsed else None
    if job is None:
        raise VideoJobNotFound()
    return job


def webhook_outcome(job: VideoJob) -> dict | None:
    """What the job reports of its webhook, whatever its final status (completed, failed or
    cancelled): webhooks.public_outcome once delivered or failed for good; None without a
    callback_url or while attempts go on."""
    finished = (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED)
    for delivery in job.webhook_deliveries.all():  # at most one (a unique constraint)
        if delivery.status in finished:
            return webhooks.public_outcome(delivery)
    return None


def detection_list(*, job: VideoJob, kind: str | None = None) -> QuerySet[VideoDetection]:
    rows = VideoDetection.objects.filter(job=job)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("timestamp_ms", "id")


def webhook_delivery_list(*, owner, limit: int = 20) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(owner=owner).order_by("-created_at")[:limit]
