from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    verbose_name = "Video jobs"

    def ready(self):
        from videos import signals  # noqa: F401 - connects the file-removal handler
