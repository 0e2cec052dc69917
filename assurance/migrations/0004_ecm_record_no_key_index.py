from django.db import migrations

TABLE = "assurance_ecmrecord"


def lighten(apps, schema_editor):
    """PostgreSQL: ECM rows keep their id but lose the b-tree behind it, and take ids in batches.

    Rows arrive a million at a time with COPY and are never updated or fetched one by one; they are
    read by their import (the BRIN index) and counted. Keeping the primary-key b-tree up to date
    cost about 1.3 s per million rows, as long as the plain COPY of the whole file. The id is still
    filled by its identity sequence, so it stays unique; no other table refers to it. Each
    connection takes ids from the sequence 1,000 at a time rather than one per row (0.4 s per
    million rows), so ids have gaps and need not follow the order rows arrived in.
    """
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {TABLE}_pkey")
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET CACHE 1000")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET CACHE 1")
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")


class Migration(migrations.Migration):
    dependencies = [
        ("assurance", "0003_ecm_rows_load_light"),
    ]

    operations = [migrations.RunPython(lighten, restore)]
