"""Reads for faces: an account's collections and faces, and each collection's gallery.

A gallery is one collection's descriptors as a single matrix (faces.index.DescriptorIndex)
held in process memory and rebuilt only when the collection's version moves, so 1:N search
is one vectorised pass with no per-row Python and no per-request database scan.
"""

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from django.db.models import QuerySet

from faces.index import DescriptorIndex
from faces.models import Collection, Face
from visionera.api.errors import NotFound

GALLERY_CACHE_SIZE = 64


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def collections_of(owner) -> QuerySet[Collection]:
    return Collection.objects.filter(owner=owner).order_by("-created_at")


def get_collection(*, owner, reference) -> Collection:
    """The owner's collection by id (or by exact name); anyone else's is simply not found."""
    collections = collections_of(owner)
    collection_id = _as_uuid(reference)
    found = (
        collections.filter(pk=collection_id).first()
        if collection_id
        else collections.filter(name=str(reference)).first()
    )
    if found is None:
        raise NotFound(f"no collection {str(reference)[:100]!r} in this account")
    return found


def faces_in(collection: Collection, *, label: str | None = None) -> QuerySet[Face]:
    faces = Face.objects.filter(collection=collection).defer("descriptor").order_by("created_at")
    if label:
        faces = faces.filter(label=label)
    return faces


def get_face(*, collection: Collection, face_id) -> Face:
    face = Face.objects.filter(collection=collection, pk=_as_uuid(face_id)).first()
    if face is None or _as_uuid(face_id) is None:
        raise NotFound(f"no face {str(face_id)[:100]!r} in this collection")
    return face


@dataclass(frozen=True)
class Gallery:
    version: int
    index: DescriptorIndex
    face_ids: list[str]
    labels: list[str]
    metadata: list[dict]


_galleries: OrderedDict[uuid.UUID, Gallery] = OrderedDict()
_galleries_lock = threading.Lock()


def collection_gallery(collection: Collection) -> Gallery:
    """The collection's descriptor matrix, cached per process until its version changes."""
    with _galleries_lock:
        cached = _galleries.get(collection.pk)
        if cached is not None and cached.version == collection.version:
            _galleries.move_to_end(collection.pk)
            return cached
    gallery = _load_gallery(collection)
    with _galleries_lock:
        _galleries[collection.pk] = gallery
        _galleries.move_to_end(collection.pk)
        while len(_galleries) > GALLERY_CACHE_SIZE:
            _galleries.popitem(last=False)
    return gallery


def _load_gallery(collection: Collection) -> Gallery:
    # Read the version first: a face enrolled during the load bumps it past ours, so the
    # next search reloads rather than trusting a gallery that might miss that face.
    version = Collection.objects.filter(pk=collection.pk).values_list("version", flat=True).first()
    rows = list(
        Face.objects.filter(collection_id=collection.pk)
        .order_by("created_at", "id")
        .values_list("id", "label", "metadata", "descriptor")
    )
    face_ids = [str(row[0]) for row in rows]
    index = DescriptorIndex.from_rows(face_ids, (bytes(row[3]) for row in rows))
    return Gallery(
        version=version if version is not None else collection.version,
        index=index,
        face_ids=face_ids,
        labels=[row[1] for row in rows],
        metadata=[row[2] or {} for row in rows],
    )
