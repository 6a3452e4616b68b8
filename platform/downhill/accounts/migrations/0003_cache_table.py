"""The database cache's table (settings/cache.py), made wherever the database is migrated so
`make run`, deployments and tests all have it. Nothing to do when the cache is Redis."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_hash_api_tokens")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
