from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "faces"
    verbose_name = "Faces and collections"

    def ready(self):
        from faces import signals  # noqa: F401 - connects the post_delete handler
