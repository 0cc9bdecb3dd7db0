"""The HNSW graph is built with ef_construction 256 (was 128; m stays 24).

Measured in docs/PERFORMANCE.md ("Parameters and why"), 1M faces, 1,000 queries: the graph
built with the broader candidate list reaches recall@1 0.99 at ef_search 500 where the 128
one needs 600, and is ahead at every breadth (0.971 against 0.954 at 200). Where the index
exists with other parameters this drops and rebuilds it inside the migration, which blocks
enrolments while it runs (about 30 minutes per million faces on a 2-core host, with
``maintenance_work_mem`` large enough for the graph). On a large table rebuild it first
without blocking, then migrate; this migration then finds the parameters already right:

    manage.py search_index --rebuild --concurrently

SQLite, or a PostgreSQL without pgvector: nothing to do.
"""

from django.db import migrations

from faces import vector_store


class Migration(migrations.Migration):

    dependencies = [
        ("faces", "0003_hnsw_m24_ef_construction128"),
    ]

    operations = [
        # Going back keeps the better-built index: the older code searches it just as well.
        migrations.RunPython(vector_store.rebuild_index_in_migration,
                             migrations.RunPython.noop, elidable=False),
    ]
