from django.db import migrations

TABLE = "assurance_ecmrecord"


def drop_key_index(apps, schema_editor):
    """PostgreSQL: ECM rows keep their id but lose the b-tree behind it.

    Rows arrive a million at a time with COPY and are never updated or fetched one by one; they are
    read by their import (the BRIN index) and counted. Keeping the primary-key b-tree up to date cost
    about 1.3 s per million rows, as long as the plain COPY of the whole file. The id is still
    filled by its identity sequence, so it stays unique; no other table refers to it.
    """
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {TABLE}_pkey")


def add_key_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")


class Migration(migrations.Migration):
    dependencies = [
        ("assurance", "0003_ecm_rows_load_light"),
    ]

    operations = [migrations.RunPython(drop_key_index, add_key_index)]
