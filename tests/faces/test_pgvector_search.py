"""1:N search on PostgreSQL + pgvector: same answers as the exact engine, filtered recall,
the column kept bit-exact by its trigger, the search_index command, no gallery in process.

These need a PostgreSQL with the vector extension as the test database (CI's pgvector pass:
DATABASE_URL from `tools/pgvector_server.py start`); elsewhere they skip with that reason,
unless VISIONERA_REQUIRE_PGVECTOR=1 (set by CI) turns the skip into a failure.
"""

import importlib
import os
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from faces import selectors, vector_store
from faces.index import DescriptorIndex, descriptor_to_bytes
from faces.models import Collection, Face, FaceVector
from tests.faces.test_api_search import gallery  # noqa: F401 - the enrolled fixture gallery
from tests.helpers import fixture_path, upload

SEARCH = "/api/faces/search"


@pytest.fixture
def pgvector(db):
    if not vector_store.vector_support(connection).ready:
        reason = ("no pgvector: run with DATABASE_URL on PostgreSQL + pgvector"
                  " (.venv/bin/python tools/pgvector_server.py start)")
        if os.environ.get("VISIONERA_REQUIRE_PGVECTOR") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    selectors.forget_search_engine()
    yield
    selectors.forget_search_engine()


def descriptors(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True) * 1.4


def enrol_rows(collection, matrix, *, label_prefix="") -> list[Face]:
    """One face per row of ``matrix``, labelled ``<label_prefix><row>``."""
    return Face.objects.bulk_create(
        Face(collection=collection, label=f"{label_prefix}{row}", box={},
             descriptor=descriptor_to_bytes(vector))
        for row, vector in enumerate(matrix)
    )


def test_the_engine_is_pgvector_and_says_so(pgvector, caplog):
    caplog.set_level("INFO", logger="faces.selectors")
    assert selectors.search_engine() == "pgvector"
    assert selectors.search_engine() == "pgvector"
    lines = [r.message for r in caplog.records if r.message.startswith("Face search engine")]
    index = vector_store.HNSW_INDEX  # the log names the parameters the index was built with
    assert len(lines) == 1 and "pgvector 0.8" in lines[0]
    assert f"HNSW m={index.m} ef_construction={index.ef_construction}," in lines[0]


def _search(client, collection, probe, **extra):
    path = fixture_path(f"faces/probes/{probe}")
    response = client.post(
        SEARCH, {"image": upload(probe, path.read_bytes()), "collection": collection["id"],
                 **extra},
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("extra", [
    {"max_faces": 3},  # the API's defaults: limit 5, threshold 0.6
    {"max_faces": 3, "limit": 20, "threshold": 2.0},  # every enrolled face, ranked
])
def test_fixture_scenario_answers_equal_the_exact_engine(pgvector, free_client, gallery,  # noqa: F811
                                                         settings, extra):
    probes = sorted(path.name for path in fixture_path("faces/probes").iterdir())
    answers = {}
    for engine, exact_scan_max in (("exact", 10_000), ("auto", 10_000), ("auto", 0)):
        # auto + 10 000: the gallery is scanned exactly in PostgreSQL; auto + 0: through HNSW.
        settings.VISIONERA_SEARCH_ENGINE = engine
        settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = exact_scan_max
        settings.VISIONERA_SEARCH_HNSW_MIN_SHARE = 0.0
        answers[engine, exact_scan_max] = [
            _search(free_client, gallery, probe, **extra) for probe in probes
        ]
    exact = answers["exact", 10_000]
    assert sum(len(face["matches"]) for body in exact for face in body["faces"]) >= 8
    assert answers["auto", 10_000] == exact
    assert answers["auto", 0] == exact


def test_no_gallery_is_held_in_process(pgvector, free_client, gallery):  # noqa: F811
    selectors._galleries.clear()
    body = _search(free_client, gallery, "obama1.jpg")
    assert body["matches"][0]["label"] == "obama"
    listed = free_client.get(f"/api/faces/collections/{gallery['id']}").json()
    assert listed["face_count"] == gallery_size(gallery) > 0  # searched the whole gallery
    assert len(selectors._galleries) == 0


def gallery_size(collection) -> int:
    return Collection.objects.get(pk=collection["id"]).face_count


def _embedding(face_id) -> np.ndarray:
    with connection.cursor() as cursor:
        cursor.execute("SELECT embedding::text FROM faces_face WHERE id = %s", [face_id])
        text = cursor.fetchone()[0]
    return np.array([float(value) for value in text.strip("[]").split(",")], dtype=np.float32)


def test_the_trigger_keeps_the_embedding_bit_exact(pgvector, free_client):
    collection = Collection.objects.create(owner=free_client.user, name="bits")
    vector = descriptors(1, seed=3)[0]
    vector[:4] = [0.0, -0.0, 1e-40, -3.4e38]  # zeros, a denormal, the far end of float32
    face = Face.objects.create(collection=collection, label="x", box={},
                               descriptor=descriptor_to_bytes(vector))
    assert np.array_equal(_embedding(face.pk).view(np.uint32)[2:],
                          vector.view(np.uint32)[2:])
    assert np.array_equal(_embedding(face.pk), vector)
    changed = descriptors(1, seed=4)[0]
    face.descriptor = descriptor_to_bytes(changed)
    face.save()
    assert np.array_equal(_embedding(face.pk), changed)


@pytest.fixture
def crowded(pgvector, free_client):
    """A 150-face collection inside a table of 4,150: a 3.6 % share."""
    big = Collection.objects.create(owner=free_client.user, name="big", face_count=4000)
    small = Collection.objects.create(owner=free_client.user, name="small", face_count=150)
    for collection, matrix in ((big, descriptors(4000, 1)), (small, descriptors(150, 2))):
        enrol_rows(collection, matrix, label_prefix=f"{collection.name}-")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE faces_face")
    return small, descriptors(150, 2)


def _truth(collection, matrix, queries, limit):
    labels = [f"{collection.name}-{row}" for row in range(len(matrix))]
    index = DescriptorIndex(labels, matrix)
    return [[labels[m.row] for m in index.search(q, limit, 99.0)] for q in queries]


def _found(collection, queries, limit):
    results = []
    for query in queries:
        found = selectors.collection_gallery(collection)
        results.append([found.labels[m.row] for m in found.index.search(query, limit, 99.0)])
    return results


def test_a_small_collection_in_a_large_table_keeps_its_recall(crowded, settings):
    small, matrix = crowded
    rng = np.random.default_rng(9)
    queries = matrix[:40] + rng.normal(scale=0.05, size=(40, 128)).astype(np.float32)
    truth = _truth(small, matrix, queries, 10)

    settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = 0  # force HNSW + iterative scan
    settings.VISIONERA_SEARCH_HNSW_MIN_SHARE = 0.0
    through_hnsw = _found(small, queries, 10)
    assert all(len(found) == 10 for found in through_hnsw)  # never short of k
    assert [found[0] for found in through_hnsw] == [expected[0] for expected in truth]
    recall10 = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(through_hnsw, truth,
                                                                    strict=True)])
    assert recall10 >= 0.9

    settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = 10_000  # the default path for 150 faces
    assert _found(small, queries, 10) == truth


def test_without_iterative_scan_hnsw_comes_back_short(crowded):
    """The failure the iterative scan is there for, shown on the same data."""
    small, matrix = crowded
    returned = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in matrix[:20]:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM faces_face WHERE (collection_id = %s)"
                " IS TRUE ORDER BY embedding <-> %s::vector LIMIT 10) AS top",
                [small.pk, vector_store._vector_literal(query)],
            )
            returned.append(cursor.fetchone()[0])
        transaction.set_rollback(True)
    assert np.mean(returned) < 10


def test_a_short_hnsw_answer_falls_back_to_the_exact_scan(crowded, settings, monkeypatch,
                                                          caplog):
    """Where the walk gives up before it has the collection's rows (here: no iterative
    scan at all; in production: a graph crowded with deleted rows not yet vacuumed), the
    query is answered by the exact scan: never short, never wrong."""
    small, matrix = crowded
    monkeypatch.setattr(vector_store, "_HNSW_SETTINGS_SQL", vector_store._HNSW_SETTINGS_SQL
                        .replace("'relaxed_order'", "'off'"))
    settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = 0  # through HNSW
    settings.VISIONERA_SEARCH_HNSW_MIN_SHARE = 0.0
    caplog.set_level("INFO", logger="faces.vector_store")
    queries = matrix[:20]
    with connection.cursor() as cursor:  # the plan must be the HNSW walk, as at scale
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert _found(small, queries, 10) == _truth(small, matrix, queries, 10)
    fallbacks = [r for r in caplog.records if "exact scan of the collection" in r.message]
    assert fallbacks  # the walk alone came back short (as the test above shows)


def test_search_index_backfills_and_rebuilds(pgvector, free_client):
    collection = Collection.objects.create(owner=free_client.user, name="backfill")
    faces = enrol_rows(collection, descriptors(30, 5))
    with connection.cursor() as cursor:  # as if enrolled before pgvector was installed
        cursor.execute("UPDATE faces_face SET embedding = NULL WHERE collection_id = %s",
                       [collection.pk])
        # The test's transaction holds deferred FK checks, which CREATE INDEX refuses to
        # run beside; the command itself runs in autocommit.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    out = StringIO()
    call_command("search_index", "--status", stdout=out)
    assert "30 without an embedding" in out.getvalue()
    out = StringIO()
    call_command("search_index", "--rebuild", stdout=out)
    assert "built faces_face_embedding_hnsw" in out.getvalue()
    assert "0 without an embedding" in out.getvalue()
    assert np.array_equal(_embedding(faces[7].pk), descriptors(30, 5)[7])
    out = StringIO()
    call_command("search_index", "--recompute", stdout=out)
    assert "recomputed 30 embeddings" in out.getvalue()
    # Other graph parameters for one rebuild; the test's transaction rolls the index back.
    out = StringIO()
    call_command("search_index", "--rebuild", "--m", "8", "--ef-construction", "32", stdout=out)
    assert "(m=8 ef_construction=32)" in out.getvalue()
    assert vector_store.vector_support(connection).index_options == ("m=8", "ef_construction=32")


@pytest.mark.parametrize(("migration_name", "built_before"), [
    ("0003_hnsw_m24_ef_construction128", (16, 64)),  # as 0002 built it
    ("0004_hnsw_ef_construction256", (24, 128)),  # as 0003 built it
    ("0005_hnsw_m32", (24, 256)),  # as 0004 built it
    ("0006_hnsw_m48", (32, 256)),  # as 0005 built it
])
def test_migrations_rebuild_an_index_built_with_other_parameters(pgvector, migration_name,
                                                                 built_before):
    migration = importlib.import_module(f"faces.migrations.{migration_name}")
    with connection.cursor() as cursor:  # CREATE INDEX refuses pending deferred FK checks
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert vector_store.vector_support(connection).index_options == (
        vector_store.model_index_options())  # the test database was migrated: already right
    vector_store.drop_index(connection)
    vector_store.create_index(connection, m=built_before[0], ef_construction=built_before[1])
    assert vector_store.vector_support(connection).index_options == (
        f"m={built_before[0]}", f"ef_construction={built_before[1]}")

    class Editor:  # the migration needs only the editor's connection
        pass

    editor = Editor()
    editor.connection = connection
    migration.Migration.operations[0].code(apps=None, schema_editor=editor)
    assert vector_store.vector_support(connection).index_options == (
        f"m={FaceVector._meta.indexes[0].m}",
        f"ef_construction={FaceVector._meta.indexes[0].ef_construction}",
    )
    assert vector_store.rebuild_if_changed(connection) is False  # nothing left to do


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_autocommit_the_hnsw_settings_are_set_once_per_connection(pgvector, make_client,
                                                                     settings):
    owner = make_client("free").user
    collection = Collection.objects.create(owner=owner, name="session", face_count=300)
    matrix = descriptors(300, 6)
    enrol_rows(collection, matrix)
    settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = 0  # through HNSW
    settings.VISIONERA_SEARCH_HNSW_MIN_SHARE = 0.0
    connection.close()  # a fresh session, as a new web worker's
    assert not connection.in_atomic_block
    first = _found(collection, matrix[:5], 5)
    assert [found[0] for found in first] == ["0", "1", "2", "3", "4"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.iterative_scan'),"
                       " current_setting('hnsw.ef_search')")
        assert cursor.fetchone() == ("relaxed_order", "70")
    assert connection._visionera_hnsw == "70"
    connection.close()
    connection.ensure_connection()
    assert connection._visionera_hnsw is None  # the next search sets them again
    assert _found(collection, matrix[:5], 5) == first


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_auto_ef_search_follows_the_table_size(pgvector, make_client, settings, monkeypatch):
    owner = make_client("free").user
    collection = Collection.objects.create(owner=owner, name="grown", face_count=50)
    matrix = descriptors(50, 8)
    enrol_rows(collection, matrix)
    settings.VISIONERA_SEARCH_EF_SEARCH = "auto"
    settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = 0  # through HNSW
    settings.VISIONERA_SEARCH_HNSW_MIN_SHARE = 0.0
    connection.close()
    for faces_in_table, ef_search in ((50.0, "70"), (1_000_000.0, "350")):
        monkeypatch.setattr(vector_store, "table_rows", lambda connection, n=faces_in_table: n)
        assert [found[0] for found in _found(collection, matrix[:3], 3)] == ["0", "1", "2"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('hnsw.ef_search')")
            assert cursor.fetchone()[0] == ef_search


def test_which_collections_are_scanned_exactly(pgvector, settings, monkeypatch):
    monkeypatch.setattr(vector_store, "table_rows", lambda connection: 1_000_000.0)
    settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = 10_000
    settings.VISIONERA_SEARCH_HNSW_MIN_SHARE = 0.2
    assert vector_store.uses_exact_scan(connection, 10_000)  # small
    assert vector_store.uses_exact_scan(connection, 150_000)  # 15 % of the table
    assert not vector_store.uses_exact_scan(connection, 200_000)
    assert not vector_store.uses_exact_scan(connection, 1_000_000)
