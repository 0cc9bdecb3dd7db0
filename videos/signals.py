"""Uploaded videos leave the disk with their job, however the row goes.

A post_delete handler rather than code in delete_job: deleting an account (or anything
else that cascades to its jobs) must not leave videos behind in MEDIA_ROOT.
"""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from videos.models import VideoJob


@receiver(post_delete, sender=VideoJob, dispatch_uid="videos.remove_video_file")
def remove_video_file(sender, instance: VideoJob, **kwargs) -> None:
    from videos.jobs import job_file_path, remove_file  # resolved there, in MEDIA_ROOT only

    path = job_file_path(instance)
    if path is None:
        return
    # After commit: a rolled-back delete keeps its file; outside a transaction, at once.
    transaction.on_commit(lambda: remove_file(path))
