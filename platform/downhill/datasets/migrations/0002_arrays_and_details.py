from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="arrays",
            field=models.FileField(blank=True, max_length=500, upload_to="datasets/%Y/%m/"),
        ),
        migrations.AddField(
            model_name="dataset",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
