"""1:N search inside PostgreSQL with pgvector: the schema it needs and the query it runs.

Where it lives: a nullable ``embedding vector(128)`` column on ``faces_face`` beside the
``descriptor`` blob (which stays the source of truth on every backend), an HNSW index on
it, and a trigger that fills the column from the blob on every insert or descriptor
update — so every writer (the API, the admin, bulk_create, a plain INSERT) keeps both in
step without knowing pgvector is there. The column exists only where the extension does;
the Django model ``faces.models.FaceVector`` is an unmanaged view of the same table for
pgvector's field, distance function and index definition.

Search asks PostgreSQL for the ``candidates`` nearest rows of one collection and re-ranks
them exactly in numpy from their stored blobs (faces.index.DescriptorIndex), so distances
and order are the exact engine's whenever the candidate list holds the true nearest.

Filtering by collection: HNSW walks the whole table's graph, so a plain ``WHERE
collection_id = …`` can stop with fewer than k rows of a small collection. Two measures
(docs/PERFORMANCE.md, "Faces: 1:N search on pgvector"):
- collections up to ``VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES`` are scanned exactly in
  PostgreSQL (the collection_id btree, no HNSW): exact by construction, and cheaper than
  an HNSW walk that must step over every other collection's rows to find theirs;
- so are collections below ``VISIONERA_SEARCH_HNSW_MIN_SHARE`` of the table, where an
  HNSW walk would mostly step over other collections' rows;
- the rest use pgvector 0.8's iterative index scan (``hnsw.iterative_scan =
  relaxed_order``), which keeps walking the graph until the filter has let through enough
  rows (up to ``hnsw.max_scan_tuples``, raised to a million);
- and should the walk still come back with fewer rows than the collection can give (it
  gives up early in a graph crowded with deleted rows autovacuum has not yet removed),
  that query is answered by the exact scan instead.
"""

from __future__ import annotations

import json
import logging
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from pgvector.django import HnswIndex

from faces.index import DescriptorIndex
from faces.models import FaceVector

logger = logging.getLogger(__name__)

TABLE = "faces_face"
COLUMN = "embedding"
HNSW_INDEX = FaceVector._meta.indexes[0]
INDEX_NAME = HNSW_INDEX.name
CONVERT_FUNCTION = "visionera_descriptor_vector"
TRIGGER = "faces_face_embedding_sync"

# The 512-byte little-endian float32 blob → vector(128), bit for bit: each float is rebuilt
# from its sign, exponent and mantissa in float8 (exact), then narrowed to float4 (exact,
# it is representable). Descriptors hold no inf/NaN; an odd-sized blob is an error.
_CONVERT_SQL = f"""
CREATE OR REPLACE FUNCTION {CONVERT_FUNCTION}(blob bytea) RETURNS vector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    components float4[] := '{{}}';
    bits bigint;
    exponent int;
    mantissa bigint;
    component float8;
BEGIN
    IF length(blob) <> 512 THEN
        RAISE EXCEPTION 'a descriptor is 512 bytes, got %', length(blob);
    END IF;
    FOR position IN 0..127 LOOP
        bits := get_byte(blob, 4 * position)::bigint
            | (get_byte(blob, 4 * position + 1)::bigint << 8)
            | (get_byte(blob, 4 * position + 2)::bigint << 16)
            | (get_byte(blob, 4 * position + 3)::bigint << 24);
        exponent := ((bits >> 23) & 255)::int;
        mantissa := bits & 8388607;
        IF exponent = 0 THEN
            component := mantissa * power(2::float8, -149);
        ELSE
            component := (8388608 + mantissa) * power(2::float8, exponent - 150);
        END IF;
        IF (bits >> 31) = 1 THEN
            component := -component;
        END IF;
        components := components || component::float4;
    END LOOP;
    RETURN components::vector(128);
END
$$;
"""

# A bulk load may supply the embedding itself (bench/search.py does); otherwise it is
# derived from the blob, and recomputed whenever the blob changes.
_TRIGGER_SQL = f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR NEW.{COLUMN} IS NULL THEN
        NEW.{COLUMN} := {CONVERT_FUNCTION}(NEW.descriptor);
    END IF;
    RETURN NEW;
END
$$;
"""
_CREATE_TRIGGER_SQL = f"""
CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE OF descriptor ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TRIGGER}();
"""


# Only module constants are formatted into these statements; values are parameters.
_BACKFILL_SQL = (
    f"UPDATE {TABLE} SET {COLUMN} = {CONVERT_FUNCTION}(descriptor) WHERE id IN"  # noqa: S608
    f" (SELECT id FROM {TABLE} WHERE {COLUMN} IS NULL LIMIT %s)"
)
# Exact: the collection's rows through its collection_id btree, sorted by true distance.
# l2_distance() is the <-> operator as a function, which no index can serve: the plan is
# the btree (or a bitmap of it) and a top-N sort, whatever the planner's estimates.
_SEARCH_EXACT_SQL = (
    f"SELECT id, label, metadata, descriptor, created_at FROM {TABLE}"  # noqa: S608
    f" WHERE collection_id = %s ORDER BY l2_distance({COLUMN}, %s::vector) LIMIT %s"
)
# HNSW: the same filter written so that no btree can serve it — `(…) IS TRUE` is not an
# indexable clause — so the plan is the HNSW scan with the filter on top (for LIMIT rows,
# far cheaper than the only alternative, sorting the whole table), rather than whatever
# the planner's selectivity guess prefers.
_SEARCH_HNSW_SQL = (
    f"SELECT id, label, metadata, descriptor, created_at FROM {TABLE}"  # noqa: S608
    f" WHERE (collection_id = %s) IS TRUE ORDER BY {COLUMN} <-> %s::vector LIMIT %s"
)
RECOMPUTE_SQL = f"UPDATE {TABLE} SET {COLUMN} = {CONVERT_FUNCTION}(descriptor)"  # noqa: S608
STATUS_SQL = (
    f"SELECT count(*), count(*) FILTER (WHERE {COLUMN} IS NULL),"  # noqa: S608
    f" pg_relation_size('{INDEX_NAME}') FROM {TABLE}"
)


# --- capability ------------------------------------------------------------------------


@dataclass(frozen=True)
class VectorSupport:
    """What one database offers: pgvector's version, and whether our column is there."""

    available: bool  # the extension can be installed (or is)
    version: str | None  # installed extension version
    column: bool  # faces_face.embedding exists
    index: bool  # the HNSW index exists
    index_options: tuple[str, ...] = ()  # its reloptions, e.g. ("m=16", "ef_construction=64")

    @property
    def ready(self) -> bool:
        return self.version is not None and self.column and self.index


def vector_support(connection) -> VectorSupport:
    if connection.vendor != "postgresql":
        return VectorSupport(False, None, False, False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        available = cursor.fetchone() is not None
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = %s AND column_name = %s",
            [TABLE, COLUMN],
        )
        column = cursor.fetchone() is not None
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s",
            [INDEX_NAME],
        )
        index = cursor.fetchone() is not None
        options = ()
        if index:  # the graph parameters it was built with (a rebuild may have changed them)
            cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)",
                           [INDEX_NAME])
            options = tuple(cursor.fetchone()[0] or ())
    return VectorSupport(available, row[0] if row else None, column, index, options)


# --- schema ----------------------------------------------------------------------------


def install(schema_editor, *, build_index: bool = True) -> bool:
    """Create the extension, column, trigger and (unless told not to) the HNSW index.

    Idempotent. Returns False, changing nothing, where pgvector is not installable (SQLite,
    or a PostgreSQL without the extension's files, or without the right to create it):
    search then stays on the exact in-process engine.
    """
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return False
    support = vector_support(connection)
    if support.version is None:
        if not support.available:
            logger.info("pgvector is not available on this PostgreSQL: exact search stays")
            return False
        try:
            with transaction.atomic(using=connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as error:  # noqa: BLE001 - e.g. no CREATE privilege: keep exact search
            logger.warning("pgvector could not be installed (%s): exact search stays", error)
            return False
    with connection.cursor() as cursor:  # without parameters: the SQL has a literal %
        # Table changes only when needed: ALTER/CREATE TRIGGER lock the table (and fail
        # inside a transaction with pending constraint checks).
        if not support.column:
            cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN {COLUMN} vector(128)")
        cursor.execute(_CONVERT_SQL)
        cursor.execute(_TRIGGER_SQL)
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                       [TRIGGER, TABLE])
        if cursor.fetchone() is None:
            cursor.execute(_CREATE_TRIGGER_SQL)
    backfill(connection)
    if build_index:
        create_index(connection)
    return True


def uninstall(schema_editor) -> None:
    """Drop what install() created (not the extension, which other schemas may use)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {COLUMN}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {CONVERT_FUNCTION}(bytea)")


def backfill(connection, *, batch: int = 20_000) -> int:
    """Fill the embedding of rows that have none (written before the column existed)."""
    filled = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_BACKFILL_SQL, [batch])
            filled += cursor.rowcount
            if cursor.rowcount < batch:
                return filled


def hnsw_index(*, m: int | None = None, ef_construction: int | None = None) -> HnswIndex:
    """The model's HNSW index, or the same index with other graph parameters (a rebuild
    that tries them: bench/search.py --hnsw, manage.py search_index --rebuild --m …)."""
    _, args, kwargs = HNSW_INDEX.deconstruct()
    kwargs["m"] = m or HNSW_INDEX.m
    kwargs["ef_construction"] = ef_construction or HNSW_INDEX.ef_construction
    return HnswIndex(*args, **kwargs)


def index_sql(connection, *, concurrently: bool = False, m: int | None = None,
              ef_construction: int | None = None) -> str:
    index = hnsw_index(m=m, ef_construction=ef_construction)
    with connection.schema_editor(atomic=False) as editor:
        statement = str(index.create_sql(FaceVector, editor))
    prefix = "CREATE INDEX IF NOT EXISTS"
    if concurrently:
        prefix = "CREATE INDEX CONCURRENTLY IF NOT EXISTS"
    return statement.replace("CREATE INDEX", prefix, 1)


def create_index(connection, *, concurrently: bool = False, maintenance_work_mem: str = "",
                 m: int | None = None, ef_construction: int | None = None) -> None:
    """Build the HNSW index (minutes at a million rows: see docs/PERFORMANCE.md)."""
    statement = index_sql(connection, concurrently=concurrently, m=m,
                          ef_construction=ef_construction)
    with connection.cursor() as cursor:
        if maintenance_work_mem:
            # The graph must fit in maintenance_work_mem or the build slows several-fold.
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)",
                           [maintenance_work_mem])
        cursor.execute(statement)


def model_index_options() -> tuple[str, ...]:
    """The reloptions PostgreSQL records for an index built as faces.models declares it:
    pgvector's own WITH clause (``m = 32``), as pg_class stores it (``m=32``)."""
    return tuple(option.replace(" ", "") for option in HNSW_INDEX.get_with_params())


def rebuild_if_changed(connection) -> bool:
    """Rebuild the HNSW index where it exists with other graph parameters than the model's
    (a migration after they change). True if it rebuilt."""
    support = vector_support(connection)
    if not support.index or support.index_options == model_index_options():
        return False
    drop_index(connection)
    create_index(connection)
    return True


def rebuild_index_in_migration(apps, schema_editor) -> None:
    """RunPython for a migration that changes the model's graph parameters (0003, 0004):
    rebuild_if_changed on the migrated database. Nothing to do on SQLite or without
    pgvector, where there is no index."""
    rebuild_if_changed(schema_editor.connection)


def drop_index(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


# --- search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    face_id: str
    label: str
    metadata: dict
    distance: float


def _vector_literal(query: np.ndarray) -> str:
    # repr of a float32 round-trips exactly; pgvector parses it back to the same float4.
    return "[" + ",".join(repr(float(value)) for value in np.asarray(query, np.float32)) + "]"


def search(
    *,
    database: str,
    collection_id,
    collection_size: int,
    queries: np.ndarray,
    limit: int,
    threshold: float,
) -> list[list[Candidate]]:
    """The ``limit`` nearest faces of the collection within ``threshold``, per query.

    The first ``max(limit, VISIONERA_SEARCH_CANDIDATES)`` rows PostgreSQL returns are
    re-measured exactly; what is kept is exactly what DescriptorIndex would keep of them.
    One round trip per query: the HNSW settings are the connection's own (set once).
    """
    if limit <= 0 or collection_size <= 0:
        return [[] for _ in range(len(queries))]
    candidates = max(limit, settings.VISIONERA_SEARCH_CANDIDATES)
    connection = connections[database]
    exact_scan = uses_exact_scan(connection, collection_size)
    statement = _SEARCH_EXACT_SQL if exact_scan else _SEARCH_HNSW_SQL
    results = []
    ef_search = max(ef_search_for(table_rows(connection)), candidates)
    expected_rows = min(candidates, collection_size)
    with _hnsw_settings(connection, ef_search) as cursor:
        for query in np.asarray(queries, dtype=np.float32):
            parameters = [collection_id, _vector_literal(query), candidates]
            cursor.execute(statement, parameters)
            rows = cursor.fetchall()
            if not exact_scan and len(rows) < expected_rows:
                # The HNSW walk stopped short of the collection's rows: its iterative scan
                # gave up (hnsw.max_scan_tuples, or its memory bound) in a graph crowded with
                # other collections' or not-yet-vacuumed deleted rows. An exact scan of the
                # collection is always right, so a short answer is never returned.
                logger.info("HNSW returned %d of %d rows: exact scan of the collection",
                            len(rows), expected_rows)
                cursor.execute(_SEARCH_EXACT_SQL, parameters)
                rows = cursor.fetchall()
            results.append(_rerank(rows, query, limit, threshold))
    return results


# ef_search "auto": an HNSW graph's recall at a fixed search breadth falls as it grows, so
# the breadth grows with the table to hold recall@1 at 0.99. Fitted on the m 48 /
# ef_construction 256 graph to people calibrated on in-the-wild photos (a CelebA subset),
# 1,000 queries a size (docs/PERFORMANCE.md, "A denser graph on in-the-wild faces"):
# recall@1 0.993 at ef_search 70 with 100k faces and 0.992 at 350 with 1M, i.e. 5 times
# the breadth per tenfold (the m 32 graph needed ~105 and ~700). Past ~4.5M faces that
# reaches pgvector's ceiling, and recall there must be measured on the gallery.
AUTO_EF_SEARCH = 70
AUTO_EF_SEARCH_UP_TO_ROWS = 100_000
AUTO_EF_SEARCH_GROWTH_PER_TENFOLD = 5.0


def ef_search_for(faces_in_table: float) -> int:
    """hnsw.ef_search for a table of that many faces: the setting, or its "auto" rule."""
    configured = settings.VISIONERA_SEARCH_EF_SEARCH
    if configured != "auto":
        return int(configured)
    tenfolds = math.log10(max(faces_in_table / AUTO_EF_SEARCH_UP_TO_ROWS, 1.0))
    breadth = AUTO_EF_SEARCH * AUTO_EF_SEARCH_GROWTH_PER_TENFOLD**tenfolds
    return min(round(breadth), settings.PGVECTOR_MAX_EF_SEARCH)


def uses_exact_scan(connection, collection_size: int) -> bool:
    """Whether a collection is searched by an exact scan rather than through HNSW.

    Small collections always are. So are those that are a small share of the table: HNSW
    walks the whole table's graph, and with iterative scan the work to find k rows of one
    collection grows as 1/share (bench/search.py: a 2 % collection needed 300 ms and still
    lost recall, while its exact scan took 16 ms on the same loaded machine).
    """
    if collection_size <= settings.VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES:
        return True
    return collection_size < settings.VISIONERA_SEARCH_HNSW_MIN_SHARE * table_rows(connection)


_table_rows_cache: dict[str, tuple[float, float]] = {}


def table_rows(connection) -> float:
    """faces_face's row estimate (pg_class.reltuples, kept by autovacuum), cached a minute."""
    now = time.monotonic()
    cached = _table_rows_cache.get(connection.alias)
    if cached is not None and now - cached[0] < 60:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
        rows = max(float(cursor.fetchone()[0]), 0.0)
    _table_rows_cache[connection.alias] = (now, rows)
    return rows


# With relaxed_order an HNSW scan keeps walking the graph past rows the collection filter
# drops until LIMIT rows are found, up to max_scan_tuples (pgvector's default, 20 000, is
# raised: collections above the exact-scan size can be a small share of a large table).
# These settings concern HNSW scans only, which only search runs.
_HNSW_SETTINGS_SQL = """
SELECT set_config('hnsw.ef_search', %(ef_search)s, %(local)s),
       set_config('hnsw.iterative_scan', 'relaxed_order', %(local)s),
       set_config('hnsw.max_scan_tuples', '1000000', %(local)s)
"""


@contextmanager
def _hnsw_settings(connection, ef_search: int):
    """A cursor on a connection whose HNSW settings are ours.

    In autocommit (a web request) they are set once per connection, for its session, so a
    search costs one round trip. Inside a caller's transaction they are set for it only
    (a rollback would undo a session-level set_config and leave a stale marker behind).
    """
    wanted = str(ef_search)
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(_HNSW_SETTINGS_SQL, {"ef_search": wanted, "local": True})
            yield cursor
        return
    with connection.cursor() as cursor:
        if getattr(connection, "_visionera_hnsw", None) != wanted:
            cursor.execute(_HNSW_SETTINGS_SQL, {"ef_search": wanted, "local": False})
            connection._visionera_hnsw = wanted
        yield cursor


@receiver(connection_created)
def _forget_hnsw_settings(sender, connection, **kwargs):
    connection._visionera_hnsw = None  # a new session starts from the server's defaults


def _rerank(rows, query: np.ndarray, limit: int, threshold: float) -> list[Candidate]:
    if not rows:
        return []
    # The exact engine's gallery is in enrolment order and its sort is stable: the same
    # order here makes equal distances (a photo enrolled twice) come out the same way.
    rows = sorted(rows, key=lambda row: (row[4], str(row[0])))
    index = DescriptorIndex.from_rows(
        [row[0] for row in rows], (bytes(row[3]) for row in rows)
    )
    return [
        Candidate(
            face_id=str(rows[match.row][0]),
            label=rows[match.row][1],
            metadata=_as_dict(rows[match.row][2]),
            distance=match.distance,
        )
        for match in index.search(query, limit=limit, threshold=threshold)
    ]


def _as_dict(value) -> dict:
    if isinstance(value, str):  # Django has psycopg hand jsonb over as text
        return json.loads(value)
    return value or {}
