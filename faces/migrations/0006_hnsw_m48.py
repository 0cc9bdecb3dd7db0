"""The HNSW graph links each face to 48 others (was 32; ef_construction stays 256).

Measured in docs/PERFORMANCE.md ("A denser graph on in-the-wild faces"), 1M faces
calibrated on in-the-wild photos, 1,000 queries: the denser graph reaches recall@1 0.99 at
about half the search breadth of the m 32 one (~330 against ~700), and a search at 0.99
costs about a quarter less (0.94× the exact search against 1.2–1.3×). Where the index
exists with other parameters this drops and rebuilds it inside the migration, which blocks
enrolments while it runs (about two hours per million faces on a 2-core host, with
``maintenance_work_mem`` large enough for the graph: 1.3 GB per million faces). On a large
table rebuild it first without blocking, then migrate; this migration then finds the
parameters already right:

    manage.py search_index --rebuild --concurrently

SQLite, or a PostgreSQL without pgvector: nothing to do.
"""

from django.db import migrations

from faces import vector_store


class Migration(migrations.Migration):

    dependencies = [
        ("faces", "0005_hnsw_m32"),
    ]

    operations = [
        # Going back keeps the denser index: the older code searches it just as well.
        migrations.RunPython(vector_store.rebuild_index_in_migration,
                             migrations.RunPython.noop, elidable=False),
    ]
