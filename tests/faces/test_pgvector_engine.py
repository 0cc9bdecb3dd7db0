"""Which engine search uses, and where its reads go: runs on every database.

Without pgvector (SQLite, Debian's PostgreSQL here) search must stay on the exact
in-process engine and say why; the replica router must keep writes and migrations on the
primary and send only the search path's reads to a configured replica.
"""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from faces import selectors, vector_store
from tests.conftest import PROJECT_ROOT
from tests.helpers import setting_in_a_bare_environment
from visionera import db_routers
from visionera.db_routers import ReplicaRouter, replica_reads, search_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_pgvector():
    if vector_store.vector_support(connection).ready:
        pytest.skip("this database has pgvector (tests/faces/test_pgvector_search.py covers it)")
    selectors.forget_search_engine()
    yield
    selectors.forget_search_engine()


def test_exact_engine_without_pgvector_and_one_log_line(without_pgvector, caplog):
    caplog.set_level("INFO", logger="faces.selectors")
    assert selectors.search_engine() == "exact"
    assert selectors.search_engine() == "exact"
    lines = [r.message for r in caplog.records if r.message.startswith("Face search engine")]
    assert len(lines) == 1
    assert lines[0].startswith("Face search engine: exact (in-process matrix;")
    if connection.vendor == "postgresql":
        assert "vector extension is not installed" in lines[0]


def test_asking_for_pgvector_where_there_is_none_is_an_error(without_pgvector, settings):
    settings.VISIONERA_SEARCH_ENGINE = "pgvector"
    with pytest.raises(RuntimeError, match="VISIONERA_SEARCH_ENGINE=pgvector but"):
        selectors.search_engine()


def test_the_migration_left_this_database_alone(without_pgvector):
    support = vector_store.vector_support(connection)
    assert not support.column and not support.index
    class Editor:  # install() needs only the editor's connection
        pass

    editor = Editor()
    editor.connection = connection
    assert vector_store.install(editor) is False
    assert not vector_store.vector_support(connection).column
    assert vector_store.rebuild_if_changed(connection) is False  # migration 0003: no index


def test_exact_engine_caches_the_gallery_per_collection(without_pgvector, free_client):
    from faces.models import Collection

    collection = Collection.objects.create(owner=free_client.user, name="cached")
    first = selectors.collection_gallery(collection)
    assert selectors.collection_gallery(collection) is first
    assert len(first.index) == 0


class TestReplicaRouter:
    router = ReplicaRouter()

    def test_without_a_replica_everything_is_the_primary(self):
        assert search_database() == "default"
        with replica_reads() as alias:
            assert alias == "default"
            assert self.router.db_for_read(None) == "default"

    def test_with_a_replica_only_search_reads_go_there(self, monkeypatch):
        monkeypatch.setattr(db_routers, "replica_configured", lambda: True)
        assert search_database() == "replica"
        assert self.router.db_for_read(None) == "default"
        with replica_reads():
            assert self.router.db_for_read(None) == "replica"
            assert self.router.db_for_write(None) == "default"
        assert self.router.db_for_read(None) == "default"
        assert self.router.allow_migrate("default", "faces") is True
        assert self.router.allow_migrate("replica", "faces") is False

    def test_the_context_does_not_leak_into_other_threads(self, monkeypatch):
        import threading

        monkeypatch.setattr(db_routers, "replica_configured", lambda: True)
        seen = []
        with replica_reads():
            worker = threading.Thread(target=lambda: seen.append(
                self.router.db_for_read(None)))
            worker.start()
            worker.join()
        assert seen == ["default"]


def test_database_replica_url_adds_the_alias():
    env = {**os.environ, "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5433/vis",
           "DJANGO_SETTINGS_MODULE": "visionera.settings"}
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        " r = s.DATABASES['replica'];"
        " print(json.dumps([r['HOST'], r['PORT'], r['NAME'], r['TEST'], s.DATABASE_ROUTERS]))"
    )
    output = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env,
                            check=True, capture_output=True, text=True).stdout
    host, port, name, test, routers = json.loads(output.strip().splitlines()[-1])
    assert (host, port, name) == ("replica.internal", 5433, "vis")
    assert test["MIRROR"] == "default"
    assert routers == ["visionera.db_routers.ReplicaRouter"]
    assert db_routers.REPLICA == "replica"


@pytest.mark.parametrize(("table_rows", "ef_search"), [
    (0, 70), (50_000, 70), (100_000, 70), (316_228, 157), (1_000_000, 350),
    (3_000_000, 754),
    (4_500_000, 1000), (10_000_000, 1000),  # pgvector's ceiling, from ~4.5M faces
])
def test_auto_ef_search_grows_with_every_tenfold_of_the_table(settings, table_rows, ef_search):
    settings.VISIONERA_SEARCH_EF_SEARCH = "auto"
    assert vector_store.ef_search_for(table_rows) == ef_search


def test_a_fixed_ef_search_is_kept_whatever_the_table(settings):
    settings.VISIONERA_SEARCH_EF_SEARCH = 64
    assert vector_store.ef_search_for(5_000_000) == 64


@pytest.mark.parametrize(("value", "expected"), [(None, "auto"), ("300", 300), (" auto ", "auto")])
def test_ef_search_setting_from_the_environment(value, expected):
    env = {} if value is None else {"VISIONERA_SEARCH_EF_SEARCH": value}
    assert setting_in_a_bare_environment("VISIONERA_SEARCH_EF_SEARCH", **env)[1] == expected


@pytest.mark.parametrize("value", ["0", "5000", "fast", "-1"])
def test_an_ef_search_outside_pgvectors_range_refuses_to_start(value):
    done, _ = setting_in_a_bare_environment("VISIONERA_SEARCH_EF_SEARCH",
                                            VISIONERA_SEARCH_EF_SEARCH=value)
    assert done.returncode != 0
    assert "VISIONERA_SEARCH_EF_SEARCH" in done.stderr and "use auto or 1–1000" in done.stderr
