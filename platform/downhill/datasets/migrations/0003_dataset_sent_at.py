from django.db import migrations, models


def processing_datasets_were_sent(apps, schema_editor):
    """A dataset left `processing` before sent_at existed had its message sent: one whose
    broker was down was failed then. None is left for the sweep to send again."""
    dataset = apps.get_model("datasets", "Dataset")
    dataset.objects.filter(status="processing").update(sent_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0002_arrays_and_details"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(processing_datasets_were_sent, migrations.RunPython.noop),
    ]
