"""The HNSW graph gets m 24 / ef_construction 128 (was pgvector's defaults, 16 / 64).

Measured in docs/PERFORMANCE.md ("Parameters and why"): on crowded face descriptors the
denser graph reaches at ef_search 100 the recall the default one needs 400 for. Where the
index exists with other parameters than the model's *current* ones (since 0004: m 24 /
ef_construction 256) this drops and rebuilds it with those, so 0004 then has nothing left
to do. The rebuild blocks enrolments while it runs; on a large table rebuild it first
without blocking, with the model's parameters, then migrate:

    manage.py search_index --rebuild --concurrently

SQLite, or a PostgreSQL without pgvector: nothing to do.
"""

from django.db import migrations

from faces import vector_store


class Migration(migrations.Migration):

    dependencies = [
        ("faces", "0002_pgvector_search"),
    ]

    operations = [
        # Going back keeps the denser index: the older code searches it just as well.
        migrations.RunPython(vector_store.rebuild_index_in_migration,
                             migrations.RunPython.noop, elidable=False),
    ]
