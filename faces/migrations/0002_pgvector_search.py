"""1:N search on pgvector where the database has it; nothing anywhere else.

On PostgreSQL with the ``vector`` extension available this creates the extension, the
``faces_face.embedding vector(128)`` column, the trigger deriving it from each descriptor,
fills it for faces enrolled already and builds the HNSW index (minutes at a million faces:
`manage.py search_index --rebuild --concurrently` can do that later instead). On SQLite or a
PostgreSQL without pgvector it changes nothing and search stays exact in process; running
`manage.py search_index` after installing pgvector there switches it over.
"""

from django.db import migrations, models
import pgvector.django.vector


def install_pgvector(apps, schema_editor):
    from faces import vector_store

    vector_store.install(schema_editor)


def uninstall_pgvector(apps, schema_editor):
    from faces import vector_store

    vector_store.uninstall(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("faces", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FaceVector",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False)),
                ("collection_id", models.UUIDField()),
                ("embedding", pgvector.django.vector.VectorField(dimensions=128, null=True)),
            ],
            options={
                "db_table": "faces_face",
                "managed": False,
            },
        ),
        migrations.RunPython(install_pgvector, uninstall_pgvector, elidable=False),
    ]
