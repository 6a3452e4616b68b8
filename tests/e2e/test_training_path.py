"""The whole path on real components: a live server, the REST API over HTTP, a real Celery
worker process, and the configured database and broker."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from tests.conftest import diabetes_rows, iris_rows
from tests.e2e.conftest import finished

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def large_regression_rows(n=20_000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return [[f"x{i}" for i in range(d)] + ["y"]] + [
        [*row, t] for row, t in zip(x.tolist(), y.tolist(), strict=True)
    ]


def test_upload_experiment_train_and_read_falling_loss(client_api):
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    assert dataset["task"] == "classification" and dataset["n_rows"] == 150

    experiment = client_api.experiment(
        dataset=dataset["id"], optimizer="sgd", learning_rate=0.05, momentum=0.9, epochs=15, seed=7
    )
    assert experiment["config"]["batch_size"] == 32
    run = client_api.wait_for(experiment["run"], finished)

    assert run["status"] == "succeeded", run["error"]
    assert run["device"] == "cpu"
    steps_per_epoch = math.ceil(120 / 32)  # 150 rows, 20 % held out for validation
    assert run["progress"] == {
        "epoch": 15,
        "epochs": 15,
        "step": 15 * steps_per_epoch,
        "steps": 15 * steps_per_epoch,
    }
    series = client_api.get(f"/runs/{run['id']}/metrics/").json()["series"]
    assert set(series) == {"train_loss", "lr", "batch_size", "val_loss", "val_accuracy", "val_f1"}
    assert series["batch_size"] == {"steps": [1], "values": [32.0]}
    train = series["train_loss"]
    assert train["steps"] == list(
        range(1, 15 * steps_per_epoch + 1)
    )  # one point per step, no holes
    assert series["lr"]["values"] == [0.05] * len(train["steps"])
    assert series["val_loss"]["steps"] == [e * steps_per_epoch for e in range(1, 16)]
    first, last = np.mean(train["values"][:4]), np.mean(train["values"][-4:])
    assert last < first / 3, (first, last)
    assert run["summary"]["best_val_loss"] == min(series["val_loss"]["values"])
    assert run["summary"]["val_accuracy"] >= 0.85


def test_metrics_stream_while_running_and_cancel_stops_it(client_api):
    dataset = client_api.upload(large_regression_rows(), name="big.csv")
    assert dataset["task"] == "regression"
    experiment = client_api.experiment(
        dataset=dataset["id"], batch_size=4, epochs=500, optimizer="sgd", learning_rate=0.001
    )
    run_id = experiment["run"]
    client_api.wait_for(
        run_id, lambda r: r["status"] == "running" and r["progress"]["step"] > 0, timeout=60
    )

    # A second experiment waits in the queue behind the first (one worker, one run at a time)
    # and is cancelled before it starts.
    queued = client_api.experiment(dataset=dataset["id"], epochs=1)["run"]
    response = client_api.post(f"/runs/{queued}/cancel/")
    assert response.json()["status"] == "cancelled"

    # Points reach the database while the run runs, within about a second of their step.
    seen = client_api.get(f"/runs/{run_id}/metrics/", name="train_loss").json()["series"][
        "train_loss"
    ]["steps"]
    time.sleep(2.5)
    run = client_api.get(f"/runs/{run_id}/").json()
    later = client_api.get(
        f"/runs/{run_id}/metrics/", name="train_loss", since_step=seen[-1] if seen else 0
    ).json()
    assert run["status"] == "running"
    new_steps = later["series"]["train_loss"]["steps"]
    assert new_steps and new_steps[0] > (seen[-1] if seen else 0)

    asked = time.monotonic()
    assert client_api.post(f"/runs/{run_id}/cancel/").status_code == 200
    run = client_api.wait_for(run_id, finished, timeout=10)
    assert run["status"] == "cancelled"
    assert time.monotonic() - asked < 5
    assert run["progress"]["step"] < run["progress"]["steps"]
    # The worker really stopped: no point is written after the run says cancelled.
    count = len(
        client_api.get(f"/runs/{run_id}/metrics/", name="train_loss").json()["series"][
            "train_loss"
        ]["steps"]
    )
    time.sleep(1.5)
    again = client_api.get(f"/runs/{run_id}/metrics/", name="train_loss").json()["series"][
        "train_loss"
    ]["steps"]
    assert len(again) == count and again[-1] == run["progress"]["step"]
    assert client_api.get(f"/runs/{queued}/").json()["status"] == "cancelled"

    # The cancel left a checkpoint at the step it stopped at (mid-epoch): resume goes on from
    # there as a new run, its series carried over and continued without a hole.
    stopped_at = run["progress"]["step"]
    response = client_api.post(f"/runs/{run_id}/resume/")
    assert response.status_code == 201, response.content
    resumed = response.json()
    assert (resumed["resumed_from"], resumed["resumed_from_step"]) == (run_id, stopped_at)
    client_api.wait_for(
        resumed["id"], lambda r: r["progress"]["step"] > stopped_at + 50, timeout=60
    )
    assert client_api.post(f"/runs/{resumed['id']}/cancel/").status_code == 200
    resumed = client_api.wait_for(resumed["id"], finished, timeout=10)
    assert resumed["status"] == "cancelled"

    def train_loss(run_id):
        body = client_api.get(
            f"/runs/{run_id}/metrics/", name="train_loss", max_points=100_000
        ).json()
        return body["series"]["train_loss"]

    before, after = train_loss(run_id), train_loss(resumed["id"])
    assert after["steps"] == list(range(1, resumed["progress"]["step"] + 1))
    assert after["values"][:stopped_at] == before["values"]


def test_diverging_run_fails_with_a_message_naming_step_and_learning_rate(client_api):
    dataset = client_api.upload(diabetes_rows(), name="diabetes.csv")
    assert dataset["task"] == "regression"
    experiment = client_api.experiment(
        dataset=dataset["id"], optimizer="sgd", learning_rate=1000.0, epochs=50
    )
    run = client_api.wait_for(experiment["run"], finished)

    assert run["status"] == "failed"
    assert "diverged" in run["error"] and "learning rate" in run["error"]
    step = int(run["error"].split("at step ")[1].split(" ")[0])
    assert step >= 1
    kept = client_api.get(f"/runs/{run['id']}/metrics/", name="train_loss").json()["series"][
        "train_loss"
    ]
    assert kept["steps"] == list(range(1, step))  # every finite point before the divergence
    assert run["progress"]["step"] == step


def test_trained_run_predicts_raw_rows_and_names_a_bad_one(client_api):
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    experiment = client_api.experiment(dataset=dataset["id"], epochs=40, optimizer="adam", learning_rate=0.01,
                                       lr_schedule={"type": "cosine"}, early_stopping={"patience_epochs": 40, "restore_best": True})  # fmt: skip
    run = client_api.wait_for(experiment["run"], finished)
    assert run["status"] == "succeeded", run["error"]
    assert run["has_model"] is True

    rows = [
        {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
        {
            "sepal_length": "6.7",
            "sepal_width": 3.0,
            "petal_length": 5.2,
            "petal_width": 2.3,
            "species": "?",
        },
    ]
    response = client_api.post(f"/runs/{run['id']}/predict/", json={"rows": rows})
    assert response.status_code == 200, response.text
    first, second = response.json()["predictions"]
    assert first["label"] == "setosa" and second["label"] == "virginica"
    assert sum(first["probabilities"].values()) == pytest.approx(1.0)

    bad = [rows[0], {**rows[0], "petal_width": "wide"}]
    response = client_api.post(f"/runs/{run['id']}/predict/", json={"rows": bad})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("rows[1].petal_width:")

    events = client_api.get(f"/runs/{run['id']}/events/").json()["events"]
    assert {e["type"] for e in events} == {"best_checkpoint", "restore_best"}
    assert events[-1]["type"] == "restore_best"  # early stopping never fired: 40 epochs ran
    assert [e["step"] for e in events] == sorted(e["step"] for e in events)
