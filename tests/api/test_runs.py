"""The run endpoints: read, filter, cancel, and metric series."""

from __future__ import annotations

import pytest

from downhill.runs.models import Run
from downhill.runs.services import metrics_record, run_queue, run_transition

pytestmark = pytest.mark.django_db


def test_run_representation_has_the_contract_fields(api, run):
    body = api.get(f"/api/v1/runs/{run.id}/").json()

    for key in ("id", "experiment", "dataset", "status", "attempt", "progress", "device", "worker",
                "created_at", "started_at", "finished_at", "error", "summary"):  # fmt: skip
        assert key in body, key
    assert body["status"] == "queued"
    assert body["experiment"] == run.experiment_id
    assert body["dataset"] == run.experiment.dataset_id
    assert body["progress"] == {"epoch": 0, "epochs": 3, "step": 0, "steps": 0}


def test_runs_filter_by_experiment_and_status(api, experiment, run):
    second = run_queue(experiment=experiment)
    run_transition(second.id, Run.Status.RUNNING)

    running = api.get("/api/v1/runs/?status=running").json()["results"]
    queued = api.get(f"/api/v1/runs/?experiment={experiment.id}&status=queued").json()["results"]
    other = api.get(f"/api/v1/runs/?experiment={experiment.id + 1000}").json()["results"]

    assert [r["id"] for r in running] == [second.id]
    assert [r["id"] for r in queued] == [run.id]
    assert other == []


@pytest.mark.parametrize("query", ["status=done", "experiment=abc"])
def test_runs_refuse_a_bad_filter_naming_it(api, run, query):
    response = api.get(f"/api/v1/runs/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


def test_cancel_of_a_queued_run_answers_cancelled(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    assert Run.objects.get(pk=run.id).status == Run.Status.CANCELLED


def test_cancel_of_a_running_run_answers_running_with_the_request_recorded(api, run):
    run_transition(run.id, Run.Status.RUNNING)

    body = api.post(f"/api/v1/runs/{run.id}/cancel/").json()

    assert body["status"] == "running"
    assert body["cancel_requested"] is True


def test_cancel_of_a_finished_run_answers_409_and_leaves_it(api, run):
    run_transition(run.id, Run.Status.RUNNING)
    run_transition(run.id, Run.Status.SUCCEEDED, summary={"best_val_loss": 0.2})

    response = api.post(f"/api/v1/runs/{run.id}/cancel/")

    assert response.status_code == 409
    assert "already finished" in response.json()["detail"]
    stored = Run.objects.get(pk=run.id)
    assert stored.status == Run.Status.SUCCEEDED
    assert stored.summary == {"best_val_loss": 0.2}
    assert stored.cancel_requested is False


def test_metrics_returns_every_series_by_default(api, run):
    metrics_record(run.id, [("train_loss", s, 1.0 / s, 1.7e9) for s in range(1, 4)])
    metrics_record(run.id, [("val_loss", 3, 0.4, 1.7e9)])

    body = api.get(f"/api/v1/runs/{run.id}/metrics/").json()

    assert body["series"] == {
        "train_loss": {"steps": [1, 2, 3], "values": [1.0, 0.5, pytest.approx(1 / 3)]},
        "val_loss": {"steps": [3], "values": [0.4]},
    }


def test_metrics_returns_only_the_named_series(api, run):
    metrics_record(
        run.id, [("train_loss", 1, 0.9, 1.7e9), ("lr", 1, 0.01, 1.7e9), ("val_loss", 1, 0.8, 1.7e9)]
    )

    body = api.get(f"/api/v1/runs/{run.id}/metrics/?name=train_loss&name=val_loss").json()

    assert set(body["series"]) == {"train_loss", "val_loss"}


def test_metrics_of_a_run_without_points_is_an_empty_mapping(api, run):
    assert api.get(f"/api/v1/runs/{run.id}/metrics/").json()["series"] == {}


def test_metrics_since_step_returns_only_later_points(api, run):
    metrics_record(run.id, [("train_loss", s, 0.1, 1.7e9) for s in range(1, 21)])

    body = api.get(f"/api/v1/runs/{run.id}/metrics/?name=train_loss&since_step=15").json()

    assert body["series"]["train_loss"]["steps"] == [16, 17, 18, 19, 20]


def test_metrics_max_points_downsamples_keeping_the_last_step(api, run):
    metrics_record(run.id, [("train_loss", s, 1.0 / s, 1.7e9) for s in range(1, 1235)])

    steps = api.get(f"/api/v1/runs/{run.id}/metrics/?max_points=50").json()["series"]["train_loss"][
        "steps"
    ]

    assert len(steps) <= 51
    assert steps[-1] == 1234


@pytest.mark.parametrize(
    "query", ["max_points=1", "max_points=many", "max_points=100001", "since_step=-1"]
)
def test_metrics_refuse_a_bad_parameter_naming_it(api, run, query):
    response = api.get(f"/api/v1/runs/{run.id}/metrics/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]
