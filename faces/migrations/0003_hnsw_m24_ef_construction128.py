"""The HNSW graph gets m 24 / ef_construction 128 (was pgvector's defaults, 16 / 64).

Measured in docs/PERFORMANCE.md ("Parameters and why"): on crowded face descriptors the
denser graph reaches at ef_search 100 the recall the default one needs 400 for. Where the
index exists with other parameters this drops and rebuilds it inside the migration, which
blocks enrolments while it runs (about two minutes per 100k faces on a 2-core host, with
``maintenance_work_mem`` large enough for the graph). On a large table rebuild it first
without blocking, then migrate; this migration then finds the parameters already right:

    manage.py search_index --rebuild --concurrently --m 24 --ef-construction 128

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
