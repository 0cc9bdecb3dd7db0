from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    verbose_name = "Video jobs"

    def ready(self):
        from videos import signals  # noqa: F401 - connects the file-removal handler
        from videos.metrics import VideoJobsCollector
        from visionera.metrics import register_database_collector

        register_database_collector(VideoJobsCollector())
