"""Keep only a salted digest of each API token. Existing tokens are hashed in place, so every
program holding one keeps working; the plain keys are gone after this migration."""

from django.db import migrations, models


def hash_existing_keys(apps, schema_editor):
    from downhill.accounts.tokens import hashed_fields

    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in ApiToken.objects.all().only("id", "key"):
        ApiToken.objects.filter(pk=token.pk).update(**hashed_fields(token.key), key="")


def drop_hashed_tokens(apps, schema_editor):
    """Backwards: a digest cannot be turned back into its key, so the tokens go."""
    apps.get_model("accounts", "ApiToken").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="prefix",
            field=models.CharField(db_index=True, default="", max_length=8),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="salt",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Dropped first: the hashing blanks the keys, which may not stay unique meanwhile.
        migrations.AlterField(
            model_name="apitoken", name="key", field=models.CharField(max_length=64)
        ),
        migrations.RunPython(hash_existing_keys, drop_hashed_tokens, elidable=False),
        migrations.RemoveField(model_name="apitoken", name="key"),
    ]
