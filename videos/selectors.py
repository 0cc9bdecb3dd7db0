"""Reads for video jobs: every lookup is scoped to the owner (another account's job is 404)."""

from django.db.models import QuerySet

from videos.errors import VideoJobNotFound
from videos.models import VideoDetection, VideoJob, WebhookDelivery
from visionera.ids import parse_uuid


def job_list(*, owner) -> QuerySet[VideoJob]:
    return VideoJob.objects.filter(owner=owner).order_by("-created_at", "-id")


def job_get(*, owner, job_id) -> VideoJob:
    """The caller's job, or VideoJobNotFound (also for a malformed id or another account's
    job)."""
    parsed = parse_uuid(job_id)
    job = VideoJob.objects.filter(owner=owner, pk=parsed).first() if parsed else None
    if job is None:
        raise VideoJobNotFound()
    return job


def detection_list(*, job: VideoJob, kind: str | None = None) -> QuerySet[VideoDetection]:
    rows = VideoDetection.objects.filter(job=job)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("timestamp_ms", "id")


def webhook_delivery_list(*, owner, limit: int = 20) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(owner=owner).order_by("-created_at")[:limit]
