"""Set up, backfill or rebuild the pgvector search index.

    manage.py search_index                  # install what is missing, fill empty rows, report
    manage.py search_index --recompute      # re-derive every embedding from its descriptor
    manage.py search_index --rebuild [--concurrently] [--maintenance-work-mem 2GB]
        [--m 16 --ef-construction 64]     # default: faces.models.FaceVector's index
    manage.py search_index --status         # report only

Migration 0002 does the first form where pgvector is installable; run this after adding
pgvector to a database migrated without it, or to rebuild the HNSW index (e.g. after a
bulk load, or to apply changed m/ef_construction).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from faces import vector_store
from faces.selectors import forget_search_engine


class Command(BaseCommand):
    help = "Install, backfill or rebuild the pgvector column and HNSW index for face search."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="the primary's alias")
        parser.add_argument("--status", action="store_true", help="report only")
        parser.add_argument(
            "--recompute", action="store_true",
            help="re-derive every row's embedding from its stored descriptor",
        )
        parser.add_argument("--rebuild", action="store_true", help="drop and build the index")
        parser.add_argument(
            "--concurrently", action="store_true",
            help="build without blocking enrolments (slower; not inside a transaction)",
        )
        parser.add_argument("--m", type=int, default=None,
                            help="HNSW links per node (default: the model's index)")
        parser.add_argument("--ef-construction", type=int, default=None,
                            help="HNSW build candidate list (default: the model's index)")
        parser.add_argument(
            "--maintenance-work-mem", default="1GB",
            help="for the build: the graph should fit (≈ 1 GB per million faces)",
        )

    def handle(self, *args, database, status, recompute, rebuild, concurrently,
               maintenance_work_mem, m, ef_construction, **options):
        connection = connections[database]
        support = vector_store.vector_support(connection)
        if status:
            self._report(connection)
            return
        if connection.vendor != "postgresql":
            raise CommandError(
                f"database {database!r} is {connection.vendor}: pgvector needs PostgreSQL;"
                " search stays on the exact in-process engine"
            )
        if support.version is None and not support.available:
            raise CommandError(
                "this PostgreSQL has no pgvector extension (install the package for its"
                " version, e.g. postgresql-16-pgvector); search stays exact"
            )
        with connection.schema_editor() as editor:
            if not vector_store.install(editor, build_index=False):
                raise CommandError("pgvector could not be installed; see the log above")
        if recompute:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(vector_store.RECOMPUTE_SQL)
                self.stdout.write(
                    f"recomputed {cursor.rowcount} embeddings in"
                    f" {time.perf_counter() - started:.1f} s"
                )
        if rebuild:
            vector_store.drop_index(connection)
        if rebuild or not vector_store.vector_support(connection).index:
            started = time.perf_counter()
            vector_store.create_index(
                connection, concurrently=concurrently, maintenance_work_mem=maintenance_work_mem,
                m=m, ef_construction=ef_construction,
            )
            self.stdout.write(f"built {vector_store.INDEX_NAME} in"
                              f" {time.perf_counter() - started:.1f} s")
        forget_search_engine()
        self._report(connection)

    def _report(self, connection):
        support = vector_store.vector_support(connection)
        if not support.ready:
            missing = [
                part for part, present in (
                    ("the vector extension", support.version),
                    (f"the {vector_store.COLUMN} column", support.column),
                    (f"the index {vector_store.INDEX_NAME}", support.index),
                ) if not present
            ]
            self.stdout.write(f"search engine: exact (missing: {', '.join(missing)})")
            return
        with connection.cursor() as cursor:
            cursor.execute(vector_store.STATUS_SQL)
            faces, missing, index_bytes = cursor.fetchone()
        self.stdout.write(
            f"search engine: pgvector {support.version}; {faces} faces, {missing} without an"
            f" embedding; index {vector_store.INDEX_NAME} {index_bytes / 2**20:.1f} MiB"
            f" ({' '.join(support.index_options) or 'pgvector defaults'})"
        )
