"""The HNSW graph links each face to 32 others (was 24; ef_construction stays 256).

Measured in docs/PERFORMANCE.md ("Parameters and why"), 1M faces, 1,000 queries: the
denser graph reaches recall@1 0.99 at about half the search breadth of the m 24 one (~250
against 500). Each step of the walk reads more neighbours, but the walk is so much shorter
that a search at 0.99 costs about a fifth less. Where the index exists with other
parameters this drops and rebuilds it inside the migration, which blocks enrolments while
it runs (about 40 minutes per million faces on a 2-core host, with ``maintenance_work_mem``
large enough for the graph). On a large table rebuild it first without blocking, then
migrate; this migration then finds the parameters already right:

    manage.py search_index --rebuild --concurrently

SQLite, or a PostgreSQL without pgvector: nothing to do.
"""

from django.db import migrations

from faces import vector_store


class Migration(migrations.Migration):

    dependencies = [
        ("faces", "0004_hnsw_ef_construction256"),
    ]

    operations = [
        # Going back keeps the denser index: the older code searches it just as well.
        migrations.RunPython(vector_store.rebuild_index_in_migration,
                             migrations.RunPython.noop, elidable=False),
    ]
