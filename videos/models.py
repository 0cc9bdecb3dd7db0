import uuid
from datetime import datetime

from django.conf import settings
from django.db import models


class VideoJob(models.Model):
    """One uploaded video and the asynchronous analysis of it.

    The row is the source of truth for a job: the queue message only carries its id, so a
    lost or duplicated message is repaired from here (videos.recovery.requeue_stale_jobs)
    and a duplicate run is refused by the claim in videos.jobs.claim_job.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    UNFINISHED_STATUSES = (Status.QUEUED, Status.PROCESSING)
    FINISHED_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="video_jobs"
    )
    # Relative to MEDIA_ROOT, so hosts that mount the shared volume elsewhere still find it.
    file_path = models.CharField(max_length=500)
    original_filename = models.CharField(max_length=255, blank=True)
    byte_size = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0.0)
    features = models.JSONField(default=list)
    sample_fps = models.FloatField(default=2.0)
    collection = models.ForeignKey(
        "faces.Collection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="video_jobs",
    )
    callback_url = models.URLField(max_length=2000, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    summary = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    webhook_status = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # When the last queue message for this job was sent: a queued job whose message is
    # older than the sweeper's limit has lost its message and is sent again.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="videojob_owner_newest"),
            models.Index(fields=["status", "heartbeat_at"], name="videojob_status_heartbeat"),
        ]

    def __str__(self):
        return f"{self.original_filename or self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES


class VideoDetection(models.Model):
    """One thing seen at one sampled timestamp; the rows behind the paginated results."""

    class Kind(models.TextChoices):
        FACE = "face"
        VEHICLE = "vehicle"
        BODY = "body"

    job = models.ForeignKey(VideoJob, on_delete=models.CASCADE, related_name="detections")
    timestamp_ms = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    box = models.JSONField()
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["timestamp_ms", "id"]
        indexes = [
            models.Index(fields=["job", "timestamp_ms", "id"], name="videodetection_page"),
        ]

    def __str__(self):
        return f"{self.kind} at {self.timestamp_ms} ms"


class WebhookSecret(models.Model):
    """An account's Standard Webhooks signing secret (``whsec_`` + base64 of 32 random bytes).

    Never derived from SECRET_KEY: each account verifies only its own deliveries, and
    leaking one account's secret forges nothing for another. After a rotation the previous
    secret keeps signing beside the new one for the overlap (24 h), so a receiver can switch
    without dropping deliveries; rotating again within it keeps every secret still in its
    overlap (``previous_secrets``: [{"secret", "expires_at"}], newest first), so a second
    click does not cut off receivers still on the first. Deleted with the account (CASCADE).
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret"
    )
    secret = models.CharField(max_length=100)
    previous_secrets = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"webhook secret of {self.owner_id}"

    def previous_live(self, now) -> list[dict]:
        """The previous secrets still in their overlap at `now`, newest first."""
        return [entry for entry in self.previous_secrets
                if datetime.fromisoformat(entry["expires_at"]) > now]

    @property
    def previous_expires_at(self):
        """When the last previous secret stops signing (None: none ever will again)."""
        ends = [datetime.fromisoformat(entry["expires_at"]) for entry in self.previous_secrets]
        return max(ends) if ends else None


class WebhookDelivery(models.Model):
    """One webhook message (one ``webhook-id``) and how its delivery went.

    ``error`` is for operators (admin, logs) only: it may name sockets and addresses, so the
    API and the dashboard show just the status, the attempt count and, once delivered, the
    receiver's HTTP status.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    job = models.ForeignKey(
        VideoJob, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=40)
    url = models.CharField(max_length=2000)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the next attempt is due (pending), or when the current one was claimed
    # (delivering): the sweeper re-sends a delivery whose message or worker was lost.
    due_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["job"], condition=models.Q(job__isnull=False),
                name="webhookdelivery_one_per_job",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="webhookdelivery_owner_newest"),
            models.Index(fields=["status", "due_at"], name="webhookdelivery_status_due"),
        ]

    def __str__(self):
        return f"{self.event} → {self.status}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.pk.hex}"
