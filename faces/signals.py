"""Kept enrolment photos leave the disk with their face, however the row goes.

A post_delete handler rather than code in the services: deleting a collection or an
account cascades to its faces without calling any face service.
"""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from faces.models import Face


@receiver(post_delete, sender=Face, dispatch_uid="faces.remove_enrolment_photo")
def remove_enrolment_photo(sender, instance: Face, **kwargs) -> None:
    if not instance.image:
        return
    storage, name = instance.image.storage, instance.image.name
    # After commit: a rolled-back delete keeps its photo; outside a transaction, at once.
    transaction.on_commit(lambda: storage.delete(name))
