import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from pgvector.django import HnswIndex, VectorField

from faces.engine import DESCRIPTOR_SIZE
from faces.index import DESCRIPTOR_BYTES


class Collection(models.Model):
    """A gallery of enrolled faces for 1:N search, owned by one account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=200)
    # Bumped on every enrolment or removal, so every process can tell whether its in-memory
    # descriptor matrix for this collection is stale.
    version = models.PositiveBigIntegerField(default=0)
    face_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_collection_name")
        ]

    def __str__(self):
        return self.name

    def bump(self, face_delta: int) -> None:
        Collection.objects.filter(pk=self.pk).update(
            version=F("version") + 1, face_count=F("face_count") + face_delta
        )
        self.refresh_from_db(fields=["version", "face_count"])


class Face(models.Model):
    """One enrolled face: its label, metadata, box in the enrolment photo and descriptor."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="faces")
    label = models.CharField(max_length=200, db_index=True)
    metadata = models.JSONField(default=dict, blank=True)
    box = models.JSONField()
    descriptor = models.BinaryField(max_length=DESCRIPTOR_BYTES)
    image = models.FileField(upload_to="enrolments/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.label


class FaceVector(models.Model):
    """The pgvector view of ``faces_face``: its ``embedding vector(128)`` column and HNSW index.

    Unmanaged on purpose: the column exists only on a PostgreSQL with the ``vector``
    extension, so migration 0002 creates it (and the trigger that derives it from
    ``Face.descriptor``) there and nowhere else. Face stays the model every writer uses;
    this one declares pgvector's field and index for faces.vector_store and is never
    written to.
    """

    id = models.UUIDField(primary_key=True)
    collection_id = models.UUIDField()
    embedding = VectorField(dimensions=DESCRIPTOR_SIZE, null=True)

    class Meta:
        managed = False
        db_table = "faces_face"
        # m=48 links per node and ef_construction=256, not pgvector's 16/64: face
        # descriptors crowd (among a million people a face's nearest few are almost equally
        # far), and a sparser or more hastily built graph loses the true nearest in that
        # crowd unless every search is made far broader. Measured at 1M faces calibrated on
        # in-the-wild photos, 1,000 queries (docs/PERFORMANCE.md, "Parameters and why"):
        # recall@1 0.99 needs ef_search ~330 on this graph, ~700 with m 32 (and on lab-photo
        # people 250 with m 32, 500 with m 24; 16/64 reached 0.975 at 800). A denser node
        # costs more per step, but the shorter walk wins: about a quarter less search at
        # 0.99 than m 32. The price: an index a third larger and a build twice as long
        # (enrolment pays it per insert, small beside the descriptor). Changing these needs
        # a migration running vector_store.rebuild_index_in_migration (as 0003–0006 do).
        indexes = [
            HnswIndex(
                name="faces_face_embedding_hnsw",
                fields=["embedding"],
                m=48,
                ef_construction=256,
                opclasses=["vector_l2_ops"],
            )
        ]

    def __str__(self):
        return str(self.id)
