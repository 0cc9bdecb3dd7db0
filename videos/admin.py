from django.contrib import admin

from videos.models import VideoDetection, VideoJob, WebhookDelivery, WebhookSecret


@admin.register(VideoJob)
class VideoJobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "original_filename", "status", "progress", "attempts",
                    "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("id", "owner__email", "original_filename")
    # file_path is read-only: it names the file deleted with the job (videos.jobs.job_file_path);
    # callback_url too: the owner's address passed the SSRF rule at submit, and staff should
    # not aim a job's webhook elsewhere (delivery re-checks it anyway).
    readonly_fields = ("file_path", "callback_url", "created_at", "enqueued_at", "started_at",
                       "finished_at", "heartbeat_at")
    raw_id_fields = ("owner", "collection")


@admin.register(VideoDetection)
class VideoDetectionAdmin(admin.ModelAdmin):
    list_display = ("job", "timestamp_ms", "kind")
    list_filter = ("kind",)
    raw_id_fields = ("job",)


@admin.register(WebhookSecret)
class WebhookSecretAdmin(admin.ModelAdmin):
    """Which accounts have a secret and when it rotated; the secret itself is not shown
    (the account holder reveals it in the dashboard, operators with webhook_secret)."""

    list_display = ("owner", "created_at", "rotated_at", "previous_expires_at")
    search_fields = ("owner__email",)
    fields = ("owner", "created_at", "rotated_at", "previous_expires_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every delivery with its operator-only error text (never shown to the account)."""

    list_display = ("created_at", "owner", "event", "status", "attempts", "status_code", "error")
    list_filter = ("status", "event")
    search_fields = ("id", "owner__email", "url")
    readonly_fields = ("id", "owner", "job", "event", "url", "payload", "status", "attempts",
                       "status_code", "error", "created_at", "due_at", "finished_at")

    def has_add_permission(self, request):
        return False
