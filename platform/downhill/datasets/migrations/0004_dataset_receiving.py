from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0003_dataset_sent_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="receiving",
            field=models.BooleanField(default=False),
        ),
    ]
