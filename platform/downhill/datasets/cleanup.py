"""A dataset's stored upload and decoded arrays go with its row, however it was deleted (the
API, the dashboard, the admin, its owner's account)."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from downhill.storage_cleanup import delete_after_commit

from .models import Dataset


@receiver(post_delete, sender=Dataset, dispatch_uid="dataset-files")
def delete_dataset_files(sender, instance: Dataset, **kwargs) -> None:
    delete_after_commit(instance.file.name, instance.arrays.name)
