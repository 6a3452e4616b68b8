"""The sweep API: creation checked field by field (400 naming the field, nothing created),
trials as ordinary runs, grid points distinct, failures and pruning told to the study, cancel,
quota. Runs are ended through runs.services as a worker would end them."""

from __future__ import annotations

import time

import pytest

from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from downhill.runs.services import metrics_record, run_transition
from downhill.sweeps.models import Sweep, Trial
from downhill.sweeps.services import trial_report, trial_run_ended
from tests.conftest import iris_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(upload):
    return upload(iris_rows(), name="iris.csv").json()


def body(dataset, **overrides):
    data = {
        "base": {"dataset": dataset["id"], "epochs": 3, "seed": 1},
        "space": {
            "optimizer": {"type": "categorical", "values": ["sgd", "adam", "rmsprop"]},
            "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        },
        "method": "random",
        "seed": 3,
        "max_trials": 4,
        "max_concurrent": 2,
    }
    data.update(overrides)
    return data


def create(api, data):
    return api.post("/api/v1/sweeps/", data, format="json")


def end_run(run: Run, values: list[float], status="succeeded"):
    """What a worker does: claim, write the per-epoch objective, finish; then the hook."""
    run_transition(run.id, Run.Status.RUNNING)
    metrics_record(
        run.id, [("val_loss", (i + 1) * 10, v, time.time()) for i, v in enumerate(values)]
    )
    run_transition(run.id, status, error="boom" if status == "failed" else "")
    trial_run_ended(run.id)


def running_trials(sweep_id):
    return list(Trial.objects.filter(sweep_id=sweep_id, state="running").select_related("run"))


def test_create_queues_max_concurrent_trials_as_runs(api, dataset):
    response = create(api, body(dataset))
    assert response.status_code == 201, response.json()
    sweep = response.json()
    trials = api.get(f"/api/v1/sweeps/{sweep['id']}/trials/").json()
    assert len(trials) == 2
    assert all(t["run_status"] == "queued" for t in trials)
    for trial in trials:
        config = Run.objects.get(pk=trial["run"]).experiment.config
        assert config["optimizer"] == trial["params"]["optimizer"]
        assert config["learning_rate"] == trial["params"]["learning_rate"]
        assert 1e-4 <= config["learning_rate"] <= 1.0
    assert sweep["progress"]["running"] == 2


BAD = [
    ({"space": {"colour": {"type": "categorical", "values": [1]}}}, "space.colour"),
    ({"space": {"learning_rate": {"type": "float", "low": 0.1, "high": 0.1}}}, "space.learning_rate.high"),
    ({"space": {"learning_rate": {"type": "float", "low": 0.1, "high": 0.01}}}, "space.learning_rate.high"),
    ({"space": {"learning_rate": {"type": "float", "low": 0, "high": 1, "log": True}}}, "space.learning_rate.log"),
    ({"space": {"optimizer": {"type": "categorical", "values": []}}}, "space.optimizer.values"),
    ({"space": {"optimizer": {"type": "categorical", "values": ["sgd", "nope"]}}}, "space.optimizer.values[1]"),
    ({"method": "grid", "space": {"batch_size": {"type": "int", "low": 1, "high": 2000},
                                  "epochs": {"type": "int", "low": 1, "high": 2}}}, "space"),
    ({"space": {"optimizer": {"type": "categorical", "values": ["adam"]},
                "momentum": {"type": "float", "low": 0, "high": 0.9, "when": {"optimizer": ["sgd"]}}}},
     "space.momentum.when.optimizer"),
    ({"space": {"momentum": {"type": "float", "low": 0, "high": 0.9, "when": {"loss": ["mse"]}}}},
     "space.momentum.when.loss"),
    ({"method": "bayes"}, "method"),
    ({"max_trials": 0}, "max_trials"),
    ({"objective": "accuracy"}, "objective"),
    ({"objective": "val_r2"}, "objective"),  # iris is classification: no val_r2
    ({"pruner": {"type": "asha", "reduction_factor": 1}}, "pruner.reduction_factor"),
    ({"base": {"dataset": 999999}}, "base.dataset"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "field"), BAD)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, dataset, overrides, field):
    response = create(api, body(dataset, **overrides))
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Sweep.objects.exists() and not Experiment.objects.exists()


def test_grid_3x3_gives_exactly_9_distinct_trials(api, dataset):
    space = {
        "optimizer": {"type": "categorical", "values": ["sgd", "adam", "rmsprop"]},
        "learning_rate": {"type": "categorical", "values": [0.001, 0.01, 0.1]},
    }
    sweep = create(
        api, body(dataset, method="grid", space=space, max_trials=50, max_concurrent=4)
    ).json()
    assert sweep["max_trials"] == 9
    while trials := running_trials(sweep["id"]):
        end_run(trials[0].run, [1.0, 0.5])
    points = {(t.params["optimizer"], t.params["learning_rate"]) for t in Trial.objects.all()}
    assert Trial.objects.count() == 9 and len(points) == 9
    detail = api.get(f"/api/v1/sweeps/{sweep['id']}/").json()
    assert detail["status"] == "finished" and detail["progress"]["complete"] == 9


def test_failed_trial_is_told_and_the_sweep_goes_on(api, dataset):
    sweep = create(api, body(dataset, max_trials=3, max_concurrent=1)).json()
    end_run(running_trials(sweep["id"])[0].run, [], status="failed")
    trials = api.get(f"/api/v1/sweeps/{sweep['id']}/trials/").json()
    assert [t["state"] for t in trials] == ["failed", "running"]
    assert trials[0]["error"] == "boom"


def test_conditional_parameter_only_where_its_condition_holds(api, dataset):
    space = {
        "optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.99, "when": {"optimizer": ["sgd"]}},
    }
    sweep = create(api, body(dataset, space=space, max_trials=8, max_concurrent=8)).json()
    trials = Trial.objects.filter(sweep_id=sweep["id"])
    assert trials.count() == 8
    for trial in trials:
        assert ("momentum" in trial.params) == (trial.params["optimizer"] == "sgd")
    assert {t.params["optimizer"] for t in trials} == {"sgd", "adam"}


def test_asha_prunes_and_says_why(api, dataset):
    sweep = create(api, body(dataset, max_trials=6, max_concurrent=6,
                             pruner={"type": "asha", "min_resource": 1, "reduction_factor": 2})).json()  # fmt: skip
    trials = running_trials(sweep["id"])
    outcomes = []
    for i, trial in enumerate(trials):  # epoch 1: the later ones are worse
        outcomes.append(trial_report(trial.run_id, 1, {"val_loss": 1.0 + i}))
    assert outcomes[0] is False and any(outcomes[1:])
    pruned = Trial.objects.filter(sweep_id=sweep["id"]).exclude(prune={}).first()
    reason = pruned.prune
    assert reason["pruner"] == "asha" and reason["rung"] == 0 and reason["epoch"] == 1
    assert reason["value"] > reason["threshold"]
    assert "rung 0" in reason["message"]
    end_run(pruned.run, [reason["value"]])
    pruned.refresh_from_db()
    assert pruned.state == "pruned"


def test_median_prunes_with_threshold(api, dataset):
    sweep = create(api, body(dataset, max_trials=5, max_concurrent=1,
                             pruner={"type": "median", "n_startup_trials": 2})).json()  # fmt: skip
    for loss in (1.0, 2.0):
        end_run(running_trials(sweep["id"])[0].run, [loss, loss])
    trial = running_trials(sweep["id"])[0]
    assert trial_report(trial.run_id, 1, {"val_loss": 5.0}) is True
    trial.refresh_from_db()
    assert trial.prune["threshold"] == 1.5 and trial.prune["value"] == 5.0


def test_cancel_leaves_nothing_queued_or_running(api, dataset):
    sweep = create(api, body(dataset, max_trials=10, max_concurrent=3)).json()
    response = api.post(f"/api/v1/sweeps/{sweep['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert not Run.objects.filter(status__in=["queued", "running"]).exists()
    assert set(Trial.objects.values_list("state", flat=True)) == {"cancelled"}


def test_quota_counts_only_queued_and_running_trials(api, dataset, settings):
    settings.DOWNHILL_MAX_ACTIVE_RUNS = 2
    sweep = create(api, body(dataset, max_trials=4, max_concurrent=4)).json()
    assert len(running_trials(sweep["id"])) == 2  # the quota, not max_concurrent
    end_run(running_trials(sweep["id"])[0].run, [1.0])
    assert len(running_trials(sweep["id"])) == 2  # a finished trial frees its place


def test_other_users_sweeps_are_404(api, dataset, other_user):
    from rest_framework.test import APIClient

    sweep = create(api, body(dataset)).json()
    other = APIClient()
    other.force_authenticate(other_user)
    assert other.get(f"/api/v1/sweeps/{sweep['id']}/").status_code == 404
    assert other.post(f"/api/v1/sweeps/{sweep['id']}/cancel/").status_code == 404
