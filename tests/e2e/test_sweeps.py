"""Sweeps end to end: a live server, the REST API over HTTP and a real Celery worker training
every trial. A 3x3 grid gives 9 distinct trials; a random sweep with ASHA over learning rates
from 1e-6 to 10 prunes and says why; a cancelled sweep leaves nothing queued or running."""

from __future__ import annotations

import time

import pytest

from tests.conftest import iris_rows

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_sweep(api, sweep_id, predicate, timeout=240.0):
    deadline = time.monotonic() + timeout
    while True:
        sweep = api.get(f"/sweeps/{sweep_id}/").json()
        if predicate(sweep):
            return sweep
        assert time.monotonic() < deadline, f"sweep {sweep_id} never got there: {sweep}"
        time.sleep(0.3)


def create(api, **data):
    response = api.post("/sweeps/", json=data)
    assert response.status_code == 201, response.text
    return response.json()


def test_grid_3x3_trains_9_distinct_trials(client_api):
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    sweep = create(
        client_api,
        base={"dataset": dataset["id"], "epochs": 2, "seed": 1, "batch_size": 64},
        space={
            "optimizer": {"type": "categorical", "values": ["sgd", "adam", "rmsprop"]},
            "learning_rate": {"type": "categorical", "values": [0.001, 0.01, 0.1]},
        },
        method="grid", max_trials=100, max_concurrent=3, seed=0,
    )  # fmt: skip
    sweep = wait_sweep(client_api, sweep["id"], lambda s: s["status"] == "finished")
    trials = client_api.get(f"/sweeps/{sweep['id']}/trials/").json()
    assert len(trials) == 9
    assert len({(t["params"]["optimizer"], t["params"]["learning_rate"]) for t in trials}) == 9
    assert all(t["state"] == "complete" and t["run_status"] == "succeeded" for t in trials)
    for trial in trials:  # each an ordinary run whose last val_loss is the trial's value
        series = client_api.get(f"/runs/{trial['run']}/metrics/").json()["series"]
        assert series["val_loss"]["values"][-1] == pytest.approx(trial["value"])
    best = sweep["best"]["value"]
    assert best == min(t["value"] for t in trials)


def test_random_sweep_with_asha_prunes_and_says_why(client_api):
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    sweep = create(
        client_api,
        base={"dataset": dataset["id"], "epochs": 9, "seed": 1, "optimizer": "sgd"},
        space={"learning_rate": {"type": "float", "low": 1e-6, "high": 10.0, "log": True}},
        method="random", max_trials=10, max_concurrent=1, seed=5,
        pruner={"type": "asha", "min_resource": 1, "reduction_factor": 3},
    )  # fmt: skip
    sweep = wait_sweep(client_api, sweep["id"], lambda s: s["status"] == "finished", timeout=400)
    trials = client_api.get(f"/sweeps/{sweep['id']}/trials/").json()
    assert len(trials) == 10
    assert sweep["progress"]["running"] == 0
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert pruned, [(t["params"], t["state"], t["intermediate"]) for t in trials]
    for trial in pruned:
        reason = trial["prune"]
        assert reason["pruner"] == "asha" and reason["message"]
        run = client_api.get(f"/runs/{trial['run']}/").json()
        assert run["status"] == "succeeded"  # stopped at its rung, its curve kept
        assert run["progress"]["epoch"] < 9
        assert len(trial["intermediate"]) == run["progress"]["epoch"]


def test_cancel_mid_sweep_leaves_nothing_queued_or_running(client_api):
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    sweep = create(
        client_api,
        base={"dataset": dataset["id"], "epochs": 400, "seed": 1, "batch_size": 8},
        space={"learning_rate": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}},
        method="random", max_trials=10, max_concurrent=2, seed=1,
    )  # fmt: skip
    trials = client_api.get(f"/sweeps/{sweep['id']}/trials/").json()
    client_api.wait_for(trials[0]["run"], lambda run: run["status"] == "running")
    response = client_api.post(f"/sweeps/{sweep['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    def settled(s):
        return s["progress"]["running"] == 0

    wait_sweep(client_api, sweep["id"], settled, timeout=60)
    trials = client_api.get(f"/sweeps/{sweep['id']}/trials/").json()
    assert len(trials) == 2 and {t["state"] for t in trials} == {"cancelled"}
    for trial in trials:
        assert client_api.get(f"/runs/{trial['run']}/").json()["status"] == "cancelled"
