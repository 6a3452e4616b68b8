"""Deleting runs and experiments: the rows, points and stored files (checkpoints, resume
checkpoints, the exported model) go, locally and in the bucket, and no orphan file is left;
nothing a live run needs is removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from downhill.datasets.models import Dataset
from downhill.runs.models import MetricChunk, Run
from tests.conftest import iris_rows
from tests.datasets.builders import stored_files
from tests.datasets.test_s3_storage import bucket_keys, s3_endpoint, s3_settings  # noqa: F401
from workers.tasks import train_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trained(api, upload, settings, django_capture_on_commit_callbacks):
    """A dataset, and a function training one more run on it through the worker's task, with a
    resume checkpoint at every epoch's end."""
    settings.DOWNHILL_CHECKPOINT_SECONDS = 0
    dataset = upload(iris_rows(), name="iris.csv").json()["id"]

    def _train(experiment: int | None = None) -> Run:
        with django_capture_on_commit_callbacks(execute=False):
            if experiment is None:
                response = api.post(
                    "/api/v1/experiments/", {"dataset": dataset, "epochs": 2}, format="json"
                )
                run_id = response.json()["run"]
            else:
                run_id = api.post(f"/api/v1/experiments/{experiment}/runs/").json()["id"]
        train_run(run_id)
        run = Run.objects.get(pk=run_id)
        assert run.status == "succeeded", run.error
        return run

    _train.dataset = dataset
    return _train


def run_files(media_root, run_id: int) -> list[str]:
    folder = Path(media_root) / "runs" / str(run_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_deleting_a_run_removes_its_rows_and_every_stored_file_and_only_its_own(
    api, trained, media_root
):
    first = trained()
    second = trained(experiment=first.experiment_id)
    kept = run_files(media_root, second.id)
    assert {"model.npz", "last.pt"} <= set(run_files(media_root, first.id))
    assert any(name.startswith("resume-") for name in run_files(media_root, first.id))

    assert api.delete(f"/api/v1/runs/{first.id}/").status_code == 204

    assert not Run.objects.filter(pk=first.id).exists()
    assert not MetricChunk.objects.filter(run_id=first.id).exists()
    assert not (Path(media_root) / "runs" / str(first.id)).exists()
    assert run_files(media_root, second.id) == kept
    assert api.get(f"/api/v1/runs/{first.id}/").status_code == 404


def test_deleting_the_experiment_then_the_dataset_leaves_no_orphan_file(api, trained, media_root):
    run = trained()
    trained(experiment=run.experiment_id)
    assert stored_files(media_root)

    assert api.delete(f"/api/v1/experiments/{run.experiment_id}/").status_code == 204
    assert api.delete(f"/api/v1/datasets/{trained.dataset}/").status_code == 204

    assert stored_files(media_root) == []
    assert not Run.objects.exists() and not Dataset.objects.exists()


@pytest.mark.parametrize("status", ["queued", "running"])
def test_a_live_run_and_its_experiment_are_not_deleted(api, trained, media_root, status):
    run = trained()
    Run.objects.filter(pk=run.id).update(status=status)
    before = stored_files(media_root)

    refused = api.delete(f"/api/v1/runs/{run.id}/")
    assert refused.status_code == 409 and "cancel it first" in refused.json()["detail"]
    refused = api.delete(f"/api/v1/experiments/{run.experiment_id}/")
    assert refused.status_code == 409 and str(run.id) in refused.json()["detail"]
    assert Run.objects.filter(pk=run.id).exists() and stored_files(media_root) == before


def test_a_run_whose_checkpoint_a_resumed_run_starts_from_is_kept(api, trained, media_root):
    source = trained()
    Run.objects.filter(pk=source.id).update(status="cancelled")
    resumed = api.post(f"/api/v1/runs/{source.id}/resume/")
    assert resumed.status_code == 201, resumed.content
    before = run_files(media_root, source.id)

    refused = api.delete(f"/api/v1/runs/{source.id}/")
    assert refused.status_code == 409
    assert f"resumed as run {resumed.json()['id']}" in refused.json()["detail"]
    assert run_files(media_root, source.id) == before


def test_another_users_run_is_not_deleted(trained, media_root, other_user):
    from rest_framework.test import APIClient

    run = trained()
    grace = APIClient()
    grace.force_authenticate(other_user)
    assert grace.delete(f"/api/v1/runs/{run.id}/").status_code == 404
    assert run_files(media_root, run.id)


def test_in_the_bucket_a_deleted_runs_and_datasets_objects_go_too(s3_settings, api, trained):  # noqa: F811
    run = trained()
    default_storage.save(f"runs/{run.id}0/model.npz", ContentFile(b"another run's"))
    dataset_file = "t1/" + Dataset.objects.get(pk=trained.dataset).file.name
    before = bucket_keys(s3_settings)  # other tests' objects may share the bucket
    own = {key for key in before if key.startswith(f"t1/runs/{run.id}/")} | {dataset_file}
    assert len(own) > 3 and dataset_file in before

    assert api.delete(f"/api/v1/experiments/{run.experiment_id}/").status_code == 204
    assert api.delete(f"/api/v1/datasets/{trained.dataset}/").status_code == 204

    assert bucket_keys(s3_settings) == before - own
    assert f"t1/runs/{run.id}0/model.npz" in before - own
