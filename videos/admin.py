from django.contrib import admin

from videos.models import VideoDetection, VideoJob


@admin.register(VideoJob)
class VideoJobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "original_filename", "status", "progress", "attempts",
                    "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("id", "owner__email", "original_filename")
    # file_path is read-only: it names the file deleted with the job (videos.services).
    readonly_fields = ("file_path", "created_at", "enqueued_at", "started_at", "finished_at",
                       "heartbeat_at")
    raw_id_fields = ("owner", "collection")


@admin.register(VideoDetection)
class VideoDetectionAdmin(admin.ModelAdmin):
    list_display = ("job", "timestamp_ms", "kind")
    list_filter = ("kind",)
    raw_id_fields = ("job",)
