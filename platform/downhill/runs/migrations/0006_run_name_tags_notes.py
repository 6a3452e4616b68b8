from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0005_run_resumed_from_sent_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="run",
            name="notes",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="run",
            name="tags",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
