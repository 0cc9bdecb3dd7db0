"""Face operations: compare, detect, collections and enrolment, 1:N search, N:N batch.

Views hand in decoded images (vision.media.DecodedImage); the framework-free
engine does the vision; this layer picks faces, applies thresholds, touches the database
and returns plain dicts in the contract's shape.
"""

import io
from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image

from faces import engine
from faces.attributes import AttributeUnavailable, estimate_attributes
from faces.errors import (
    AttributeEstimationUnavailable,
    CollectionExists,
    CollectionNotFound,
    FaceNotFound,
    InvalidCollectionName,
    NoFaceDetected,
)
from faces.index import cluster, descriptor_to_bytes, pairwise_distances
from faces.models import Collection, Face
from faces.selectors import collection_gallery
from vision.media import DecodedImage


def _verdict(*, distance: float, threshold: float) -> dict:
    return {
        "match": bool(distance <= threshold),
        "similarity": engine.round_score(engine.similarity(distance)),
        "distance": engine.round_score(distance),
    }


COMPARED_FACE = {"descriptors": True, "max_faces": 1, "coarse_to_fine": True}
"""How compare looks for each image's face, whether its images are held together or not.

Only the largest faces are compared: coarse-to-fine finds them for a quarter of the
detection work; faces_detected may then leave out faces too small to be the largest (under
~150 px at the 1280 px scan scale, docs/FACES.md)."""


def _largest_face_of_each(
    images: Iterable[DecodedImage], *, held_together: bool
) -> list[list[engine.DetectedFace]]:
    face_engine = engine.get_face_engine()
    if held_together:  # both in memory: described in parallel
        return face_engine.detect_many([image.pixels for image in images], **COMPARED_FACE)
    found = []
    for image in images:
        found.append(face_engine.detect(image.pixels, **COMPARED_FACE))
        del image  # the pixels go before the next image is decoded
    return found


def compare_faces(
    *, images: Iterable[DecodedImage], threshold: float, held_together: bool = True
) -> dict:
    """1:1: the largest face of each image (the source, then the target), distance → match,
    similarity, confidence.

    ``images`` may be a generator that decodes each upload on demand: unless
    ``held_together`` (both fit one image's memory bound), each image is described and its
    pixels dropped before the other is decoded. The answer is the same either way.
    """
    found_source, found_target = _largest_face_of_each(images, held_together=held_together)
    faces_detected = {"image1": len(found_source), "image2": len(found_target)}
    if not found_source or not found_target:
        missing = [
            name
            for name, found in (("source", found_source), ("target", found_target))
            if not found
        ]
        raise NoFaceDetected(
            f"no face detected in {' and '.join(missing)}",
            extra={"faces_detected": faces_detected},
        )
    distance = engine.face_distance(found_source[0].descriptor, found_target[0].descriptor)
    return {
        **_verdict(distance=distance, threshold=threshold),
        "confidence": engine.confidence_band(distance, threshold),
        "threshold": threshold,
        "faces_detected": faces_detected,
        "source_face": {"box": found_source[0].box.as_dict()},
        "target_face": {"box": found_target[0].box.as_dict()},
    }


def detect_faces(*, image: DecodedImage, attributes: Sequence[str] = ()) -> dict:
    """Every face with box, 5 landmarks, quality and the attributes asked for."""
    faces = engine.get_face_engine().detect(image.pixels, descriptors=False)
    rendered = []
    for face in faces:
        try:
            face_attributes = (
                estimate_attributes(image.pixels, face, attributes) if attributes else {}
            )
        except AttributeUnavailable as error:
            raise AttributeEstimationUnavailable(str(error)) from error
        rendered.append(
            {
                "box": face.box.as_dict(),
                "landmarks": [point.as_dict() for point in face.landmarks],
                "quality": {
                    **face.quality.as_dict(),
                    "detection_score": engine.round_score(face.detection_score),
                },
                "attributes": face_attributes,
            }
        )
    return {"faces": rendered, "count": len(rendered)}


@transaction.atomic
def create_collection(*, owner, name: str) -> Collection:
    name = name.strip()
    if not name:
        raise InvalidCollectionName("name: must not be blank")
    try:
        with transaction.atomic():
            return Collection.objects.create(owner=owner, name=name)
    except IntegrityError:
        raise CollectionExists(f"a collection named {name!r} exists already") from None


@transaction.atomic
def delete_collection(*, collection: Collection) -> None:
    collection.delete()  # faces cascade; faces.signals removes any kept photos


def _no_face_in(*, image: DecodedImage) -> NoFaceDetected:
    """Enrolment and search need a face in their one image: the error names the file."""
    return NoFaceDetected(f"no face detected in {image.filename}", extra={"faces_detected": 0})


def _largest_face_with_descriptor(*, image: DecodedImage) -> engine.DetectedFace:
    faces = engine.get_face_engine().detect(
        image.pixels, descriptors=True, max_faces=1, coarse_to_fine=True
    )
    if not faces:
        raise _no_face_in(image=image)
    return faces[0]


def _jpeg(*, pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _faces_changed(*, collection: Collection, face_delta: int) -> None:
    """The rule for every enrolment and removal: move the collection's version and face count.

    In the writer's transaction. Each process's cached search matrix
    (faces.selectors.MemoryGallery) is rebuilt when the version moves, and pgvector search
    picks an exact scan or the HNSW index from face_count, so a writer that skipped this
    would leave searches answering from stale faces. enrol_face and delete_face are the only
    writers of faces.
    """
    collection.bump(face_delta=face_delta)


@transaction.atomic
def enrol_face(
    *, collection: Collection, image: DecodedImage, label: str, metadata: dict | None = None
) -> Face:
    """Add the image's largest face to the collection under `label`."""
    face = _largest_face_with_descriptor(image=image)
    enrolled = Face(
        collection=collection,
        label=label.strip(),
        metadata=metadata or {},
        box=face.box.as_dict(),
        descriptor=descriptor_to_bytes(face.descriptor),
    )
    # Locked after the detection, so that enrolments into one collection wait for each
    # other only for their writes.
    collection = _locked_collection(collection_id=collection.pk)
    enrolled.collection = collection
    if settings.VISIONERA_KEEP_ENROLLED_IMAGES:
        photo = ContentFile(_jpeg(pixels=image.pixels))
        enrolled.image.save(f"{enrolled.id}.jpg", photo, save=False)
    enrolled.save()
    _faces_changed(collection=collection, face_delta=1)
    return enrolled


@transaction.atomic
def delete_face(*, face: Face) -> None:
    collection = _locked_collection(collection_id=face.collection_id)
    # Two requests deleting one face both got here with it: only the one whose delete
    # removed the row moves the count, the other is told the face is gone.
    _, deleted = Face.objects.filter(pk=face.pk).delete()
    if not deleted.get(Face._meta.label):
        raise FaceNotFound(f"no face {str(face.pk)!r} in this collection")
    _faces_changed(collection=collection, face_delta=-1)


def _locked_collection(*, collection_id) -> Collection:
    """The collection's row, held for the writer's transaction; refused if it is gone.

    A collection deleted while a face was being enrolled into it (or removed from it) left
    a write against a missing row: a 500. Locked, a concurrent deletion of the collection
    waits for this transaction, or this one finds it gone: 404."""
    collection = Collection.objects.select_for_update().filter(pk=collection_id).first()
    if collection is None:
        raise CollectionNotFound(f"no collection {str(collection_id)!r} in this account")
    return collection


def search_collection(
    *,
    collection: Collection,
    image: DecodedImage,
    limit: int,
    threshold: float,
    max_faces: int,
) -> dict:
    """1:N: the `max_faces` largest faces, each with its best matches within threshold."""
    faces = engine.get_face_engine().detect(image.pixels, descriptors=True, max_faces=max_faces)
    if not faces:
        raise _no_face_in(image=image)
    searched = faces[:max_faces]
    gallery = collection_gallery(collection)
    queries = np.stack([face.descriptor for face in searched])
    results = gallery.index.search_many(queries, limit, threshold)
    per_face = []
    for face, matches in zip(searched, results, strict=True):
        per_face.append(
            {
                "box": face.box.as_dict(),
                "matches": [
                    {
                        "face_id": gallery.face_ids[match.row],
                        "label": gallery.labels[match.row],
                        "similarity": engine.round_score(engine.similarity(match.distance)),
                        "distance": engine.round_score(match.distance),
                        "metadata": gallery.metadata[match.row],
                    }
                    for match in matches
                ],
            }
        )
    return {
        "faces_detected": len(faces),
        "search_face": {"box": per_face[0]["box"]},
        "matches": per_face[0]["matches"],
        "faces": per_face,
    }


def batch_match(*, images: Iterable[DecodedImage], threshold: float) -> dict:
    """N:N: every pair of images compared by their largest faces, and identity groups.

    ``images`` may be a generator that decodes each upload on demand: each image is
    described and its pixels dropped before the next is decoded, so memory holds one
    image plus a 128-float descriptor per face, whatever the batch size.
    """
    face_engine = engine.get_face_engine()
    rendered, descriptors, with_face = [], [], []
    # Not enumerate(): it keeps its last (index, image) tuple for reuse until the next
    # item has been produced, which would hold the previous image's pixels while the
    # next one is decoded.
    index = -1
    for image in images:
        index += 1
        faces = face_engine.detect(image.pixels, descriptors=True, max_faces=1)
        box = None
        if faces:
            with_face.append(index)
            descriptors.append(faces[0].descriptor)
            # A JPEG decoded reduced reports its box in the uploaded image's pixels.
            box = faces[0].box.scaled(1.0 / image.scale).as_dict()
        rendered.append(
            {
                "index": index,
                "filename": image.filename,
                "faces_detected": len(faces),
                "box": box,
            }
        )
        del image, faces  # the pixels go before the next image is decoded
    pairs, groups = [], []
    if with_face:
        stacked = np.stack(descriptors)
        distances = pairwise_distances(stacked)
        for i, a in enumerate(with_face):
            for j in range(i + 1, len(with_face)):
                pairs.append(
                    {
                        "a": a,
                        "b": with_face[j],
                        **_verdict(distance=distances[i, j], threshold=threshold),
                    }
                )
        groups = [[with_face[member] for member in group] for group in cluster(stacked, threshold)]
    return {
        "images": rendered,
        "pairs": pairs,
        "groups": sorted(groups),
        "threshold": threshold,
    }
