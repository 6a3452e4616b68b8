"""Every object belongs to its owner: another user neither sees nor touches it (404, not 403,
so ids do not leak)."""

from __future__ import annotations

import pytest

from downhill.runs.models import MetricPoint, Run
from downhill.runs.services import metrics_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def adas(experiment, run):
    """Ada's dataset, experiment and run, with a few metric points."""
    metrics_record(run.id, [("train_loss", step, 1.0 / step, 1.7e9) for step in range(1, 6)])
    return {"dataset": experiment.dataset_id, "experiment": experiment.id, "run": run.id}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/datasets/{dataset}/"),
        ("delete", "/api/v1/datasets/{dataset}/"),
        ("get", "/api/v1/experiments/{experiment}/"),
        ("post", "/api/v1/experiments/{experiment}/runs/"),
        ("get", "/api/v1/runs/{run}/"),
        ("get", "/api/v1/runs/{run}/metrics/"),
        ("post", "/api/v1/runs/{run}/cancel/"),
    ],
)
def test_another_user_gets_404_for_adas_objects(grace, adas, method, path):
    response = getattr(grace, method)(path.format(**adas))

    assert response.status_code == 404


def test_another_user_changes_nothing_of_adas(grace, adas):
    grace.delete(f"/api/v1/datasets/{adas['dataset']}/")
    grace.post(f"/api/v1/runs/{adas['run']}/cancel/")
    grace.post(f"/api/v1/experiments/{adas['experiment']}/runs/")

    assert Run.objects.get(pk=adas["run"]).status == "queued"
    assert Run.objects.filter(experiment_id=adas["experiment"]).count() == 1
    assert MetricPoint.objects.filter(run_id=adas["run"]).count() == 5


def test_another_users_lists_are_empty(grace, adas):
    for path in ("/api/v1/datasets/", "/api/v1/experiments/", "/api/v1/runs/"):
        body = grace.get(path).json()
        assert body["count"] == 0, path
        assert body["results"] == [], path
    assert grace.get(f"/api/v1/runs/?experiment={adas['experiment']}").json()["results"] == []


def test_the_owner_sees_her_objects_in_lists(api, adas):
    assert [d["id"] for d in api.get("/api/v1/datasets/").json()["results"]] == [adas["dataset"]]
    assert [e["id"] for e in api.get("/api/v1/experiments/").json()["results"]] == [
        adas["experiment"]
    ]
    assert [r["id"] for r in api.get("/api/v1/runs/").json()["results"]] == [adas["run"]]


def test_another_users_experiment_cannot_use_adas_dataset(grace, adas):
    response = grace.post("/api/v1/experiments/", {"dataset": adas["dataset"]}, format="json")

    assert response.status_code == 400
    assert "dataset" in response.json()["errors"]
    assert Run.objects.count() == 1
