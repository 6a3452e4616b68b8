"""DELETE /api/v1/datasets/{id}/: the row and its file go, unless experiments still use it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from downhill.datasets.models import Dataset
from downhill.experiments.models import Experiment
from tests.conftest import iris_rows
from tests.datasets.builders import stored_files

pytestmark = pytest.mark.django_db


def test_delete_removes_the_dataset_and_its_file_once_committed(
    api, upload, media_root, django_capture_on_commit_callbacks
):
    dataset_id = upload(iris_rows()).json()["id"]
    assert len(stored_files(media_root)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/datasets/{dataset_id}/")

    assert response.status_code == 204
    assert not Dataset.objects.filter(pk=dataset_id).exists()
    assert stored_files(media_root) == []
    assert api.get(f"/api/v1/datasets/{dataset_id}/").status_code == 404


def test_delete_keeps_the_file_until_the_transaction_commits(
    api, upload, media_root, django_capture_on_commit_callbacks
):
    dataset_id = upload(iris_rows()).json()["id"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api.delete(f"/api/v1/datasets/{dataset_id}/")

    assert len(callbacks) == 1
    assert len(stored_files(media_root)) == 1


def test_delete_of_a_dataset_used_by_an_experiment_is_a_409_that_keeps_everything(
    api, upload, media_root, django_capture_on_commit_callbacks
):
    dataset_id = upload(iris_rows()).json()["id"]
    assert (
        api.post("/api/v1/experiments/", {"dataset": dataset_id}, format="json").status_code == 201
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/datasets/{dataset_id}/")

    assert response.status_code == 409
    assert "experiment" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset_id).exists()
    assert Experiment.objects.filter(dataset_id=dataset_id).count() == 1
    assert len(stored_files(media_root)) == 1


def test_delete_of_another_users_dataset_is_a_404_that_keeps_it(upload, other_user, media_root):
    dataset_id = upload(iris_rows()).json()["id"]
    grace = APIClient()
    grace.force_authenticate(other_user)

    assert grace.delete(f"/api/v1/datasets/{dataset_id}/").status_code == 404
    assert Dataset.objects.filter(pk=dataset_id).exists()
    assert len(stored_files(media_root)) == 1
