"""Deleting finished runs and experiments, and their files with them: a run's checkpoints,
resume checkpoints and exported model live in storage under runs/<id>/ (locally or in the
bucket) and go once its row is gone, however it was deleted. A run a worker holds or may
still take (queued, running), or whose checkpoint a resumed run starts from, is kept."""

from __future__ import annotations

from django.db import transaction
from django.db.models import RestrictedError
from django.db.models.signals import post_delete
from django.dispatch import receiver

from downhill.storage_cleanup import delete_folder_after_commit

from .models import Run

LIVE = (Run.Status.QUEUED, Run.Status.RUNNING)


class RunInUse(Exception):
    """The run (or a run of the experiment) is live or needed by a live run (answered 409)."""


def run_files_folder(run_id: int) -> str:
    return f"runs/{run_id}"


@receiver(post_delete, sender=Run, dispatch_uid="run-files")
def delete_run_files(sender, instance: Run, **kwargs) -> None:
    delete_folder_after_commit(run_files_folder(instance.pk))


def run_delete(*, run: Run) -> None:
    """Delete a finished run with its points, events and files. Raises RunInUse."""
    try:
        with transaction.atomic():
            # Conditional: a run queued a moment ago by "Run again" is not this one, but a
            # status read before this line may be stale.
            if not Run.objects.filter(pk=run.pk).exclude(status__in=LIVE).exists():
                raise RunInUse(
                    f"Run {run.id} is {Run.objects.get(pk=run.pk).status}; cancel it first, "
                    "then delete it."
                )
            Run.objects.filter(pk=run.pk).delete()
    except RestrictedError:
        resumed = run.resumptions.order_by("id").first()
        raise RunInUse(
            f"Run {run.id} was resumed as run {resumed.id}, which starts from its checkpoint; "
            "delete that run first."
        ) from None


def experiment_delete(*, experiment) -> None:
    """Delete an experiment and all its runs (with their files), none of them live; its
    dataset can be deleted afterwards. Raises RunInUse."""
    with transaction.atomic():
        live = list(experiment.runs.filter(status__in=LIVE).values_list("id", flat=True))
        if live:
            raise RunInUse(
                f"Experiment {experiment.id} has runs queued or running ({_ids(live)}); cancel "
                "them first, then delete it."
            )
        experiment.delete()


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids[:10]) + (" …" if len(ids) > 10 else "")
