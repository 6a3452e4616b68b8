from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0004_dataset_receiving"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="read_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
