"""Reads for faces: an account's collections and faces, and each collection's gallery.

1:N search runs on one of two engines, chosen per process (one log line says which):
- ``pgvector``: where the search database has the extension and the HNSW index
  (faces.vector_store), PostgreSQL finds the candidates and they are re-ranked exactly;
  the web process holds no gallery, and search reads may go to a read replica.
- ``exact``: everywhere else, a gallery is one collection's descriptors as a single
  matrix (faces.index.DescriptorIndex) held in process memory and rebuilt only when the
  collection's version moves: one vectorised pass, no per-request database scan.
Both answer as a SearchGallery (MemoryGallery or DatabaseGallery: face_ids, labels,
metadata and an index with search_many), so faces.services does not know which ran.
"""

import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import QuerySet

from faces import vector_store
from faces.errors import CollectionNotFound, FaceNotFound
from faces.index import DescriptorIndex, IndexMatch
from faces.models import Collection, Face
from visionera.db_routers import replica_reads, search_database
from visionera.ids import parse_uuid

logger = logging.getLogger(__name__)

EXACT = "exact"
PGVECTOR = "pgvector"

GALLERY_CACHE_SIZE = 64


def collection_list(*, owner) -> QuerySet[Collection]:
    return Collection.objects.filter(owner=owner).order_by("-created_at")


def collection_get(*, owner, reference) -> Collection:
    """The owner's collection by id (or by exact name); anyone else's is simply not found.

    The one collection lookup: the collection routes, 1:N search and video analysis all
    find their collection here, so each accepts what the others accept.
    """
    collections = collection_list(owner=owner)
    collection_id = parse_uuid(reference)
    found = (
        collections.filter(pk=collection_id).first()
        if collection_id
        else collections.filter(name=str(reference)).first()
    )
    if found is None:
        raise CollectionNotFound(f"no collection {str(reference)[:100]!r} in this account")
    return found


def face_list(*, collection: Collection, label: str | None = None) -> QuerySet[Face]:
    faces = Face.objects.filter(collection=collection).defer("descriptor").order_by("created_at")
    if label:
        faces = faces.filter(label=label)
    return faces


def face_get(*, collection: Collection, face_id) -> Face:
    parsed = parse_uuid(face_id)
    face = Face.objects.filter(collection=collection, pk=parsed).first() if parsed else None
    if face is None:
        raise FaceNotFound(f"no face {str(face_id)[:100]!r} in this collection")
    return face


def descriptor_list(*, collection_id) -> tuple[list[str], list[bytes]]:
    """(labels, descriptor blobs) of every face enrolled in the collection."""
    rows = Face.objects.filter(collection_id=collection_id).values_list("label", "descriptor")
    labels, blobs = [], []
    for label, blob in rows:
        labels.append(label)
        blobs.append(bytes(blob))
    return labels, blobs


@dataclass(frozen=True)
class MemoryGallery:
    """A collection's descriptors as one in-process matrix, cached until its version moves."""

    version: int
    index: DescriptorIndex
    face_ids: list[str]
    labels: list[str]
    metadata: list[dict]


_galleries: OrderedDict[uuid.UUID, MemoryGallery] = OrderedDict()
_galleries_lock = threading.Lock()


class DatabaseIndex:
    """The pgvector engine behind DescriptorIndex's interface: searches run in PostgreSQL.

    Holds no descriptors: each search appends the rows it found to its gallery's
    face_ids/labels/metadata, and the matches it returns point at those positions.
    """

    def __init__(self, gallery: "DatabaseGallery") -> None:
        self.gallery = gallery

    def __len__(self) -> int:
        return self.gallery.face_count

    def search_many(self, queries: np.ndarray, limit: int = 5, threshold: float = 0.6):
        with replica_reads():  # any ORM read on this path goes to the replica too
            found = self._search(queries, limit, threshold)
        return [[self.gallery.remember(candidate) for candidate in matches] for matches in found]

    def _search(self, queries, limit, threshold):
        return vector_store.search(
            database=self.gallery.database,
            collection_id=self.gallery.collection_id,
            collection_size=self.gallery.face_count,
            queries=np.atleast_2d(np.asarray(queries, dtype=np.float32)),
            limit=limit,
            threshold=threshold,
        )

    def search(self, query: np.ndarray, limit: int = 5, threshold: float = 0.6):
        return self.search_many(np.atleast_2d(query), limit, threshold)[0]


@dataclass
class DatabaseGallery:
    """One request's view of a collection on the pgvector engine (never cached)."""

    collection_id: uuid.UUID
    face_count: int
    database: str
    face_ids: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    metadata: list[dict] = field(default_factory=list)

    @property
    def index(self) -> DatabaseIndex:
        return DatabaseIndex(self)

    def remember(self, candidate: vector_store.Candidate) -> IndexMatch:
        self.face_ids.append(candidate.face_id)
        self.labels.append(candidate.label)
        self.metadata.append(candidate.metadata)
        return IndexMatch(len(self.face_ids) - 1, candidate.distance)


_engines: dict[str, tuple[str, str]] = {}
_engines_lock = threading.Lock()


def search_engine() -> str:
    """``pgvector`` or ``exact``: what 1:N search uses in this process (settings permitting).

    VISIONERA_SEARCH_ENGINE=auto picks pgvector wherever the search database has it ready;
    ``exact`` forces the in-process matrix. What the database offers is looked up once per
    process and logged once.
    """
    wanted = settings.VISIONERA_SEARCH_ENGINE
    if wanted == EXACT:
        return EXACT
    database = search_database()
    with _engines_lock:
        known = _engines.get(database)
    if known is None:
        known = _detect_engine(database)
        with _engines_lock:
            _engines[database] = known
        logger.info("Face search engine: %s (%s)", *known)
    if wanted == PGVECTOR and known[0] != PGVECTOR:
        raise RuntimeError(f"VISIONERA_SEARCH_ENGINE=pgvector but {known[1]}")
    return known[0]


def _ef_search_description() -> str:
    if settings.VISIONERA_SEARCH_EF_SEARCH != "auto":
        return str(settings.VISIONERA_SEARCH_EF_SEARCH)
    return (f"auto ({vector_store.AUTO_EF_SEARCH} up to"
            f" {vector_store.AUTO_EF_SEARCH_UP_TO_ROWS:,} faces,"
            f" ×{vector_store.AUTO_EF_SEARCH_GROWTH_PER_TENFOLD} per tenfold)")


def _detect_engine(database: str) -> tuple[str, str]:
    connection = connections[database]
    if connection.vendor != "postgresql":
        return EXACT, f"in-process matrix; database {database!r} is {connection.vendor}"
    support = vector_store.vector_support(connection)
    if support.ready:
        return PGVECTOR, (
            f"PostgreSQL + pgvector {support.version} on database {database!r}, HNSW"
            f" {' '.join(support.index_options) or 'with pgvector defaults'},"
            f" ef_search {_ef_search_description()}, exact re-rank"
        )
    if support.version is None:
        reason = "the vector extension is not installed" + (
            " (it is available: run `manage.py search_index`)" if support.available else ""
        )
    else:
        reason = "the embedding column or HNSW index is missing: run `manage.py search_index`"
    return EXACT, f"in-process matrix; PostgreSQL database {database!r}: {reason}"


def forget_search_engine() -> None:
    """Look the database's capabilities up again (after `search_index`, and in tests)."""
    with _engines_lock:
        _engines.clear()


SearchGallery = MemoryGallery | DatabaseGallery
"""What 1:N search runs against, whichever engine holds the descriptors."""


def collection_gallery(collection: Collection) -> SearchGallery:
    """What faces.services searches: PostgreSQL's index, or the in-process matrix."""
    if search_engine() == PGVECTOR:
        return DatabaseGallery(
            collection_id=collection.pk,
            face_count=collection.face_count,
            database=search_database(),
        )
    return _cached_gallery(collection)


def _cached_gallery(collection: Collection) -> MemoryGallery:
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


def _load_gallery(collection: Collection) -> MemoryGallery:
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
    return MemoryGallery(
        version=version if version is not None else collection.version,
        index=index,
        face_ids=face_ids,
        labels=[row[1] for row in rows],
        metadata=[row[2] or {} for row in rows],
    )
