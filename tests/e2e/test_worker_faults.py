"""Runs survive lost workers: a worker killed with kill -9 mid-run (its machine gone) is
noticed by its stale heartbeat, the run is requeued as a new attempt and resumes on another
worker from its latest checkpoint, with exactly one metric point per step; a sweep whose trial's
worker is killed so still ends with every trial of its budget."""

from __future__ import annotations

import time

import pytest

from tests.conftest import SESSION_WORKERS, WorkerProcess
from tests.e2e.conftest import PASSWORD, Api, finished
from tests.e2e.test_sweeps import create, wait_sweep
from tests.e2e.test_training_path import large_regression_rows

pytestmark = [pytest.mark.e2e, pytest.mark.worker_faults, pytest.mark.django_db(transaction=True)]

# Fast fault detection for the test: heartbeats stale after 3 s, a sweep every second, and a
# resume checkpoint at every epoch end.
FAST = {
    "DOWNHILL_HEARTBEAT_TIMEOUT": "3",
    "DOWNHILL_SWEEP_SECONDS": "1",
    "DOWNHILL_CHECKPOINT_SECONDS": "0",
}


@pytest.fixture
def workers(django_db_blocker, shared_media_root, tmp_path, settings):
    """Start workers on demand; the session's shared worker is stopped first (it would take the
    run too), which is why these tests run last."""
    for worker in SESSION_WORKERS:
        worker.stop()
    # The web side (live server) sweeps with the same timeout as the workers.
    settings.DOWNHILL_HEARTBEAT_TIMEOUT = 3
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        with django_db_blocker.unblock():
            worker = WorkerProcess(
                tmp_path / f"{name}.log", media_root=shared_media_root, beat=True, **FAST
            )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"\n--- {worker.log_path.name} ---\n{worker.tail(3000)}")


def test_a_worker_killed_mid_run_is_replaced_and_the_run_resumes_with_one_point_per_step(
    workers, live_server, django_user_model
):
    django_user_model.objects.create_user("ada", password=PASSWORD)
    api = Api(live_server.url, "ada", PASSWORD)
    first = workers("first")
    dataset = api.upload(large_regression_rows(n=3000, d=8), name="big.csv")
    epochs = 12
    run_id = api.experiment(dataset=dataset["id"], batch_size=8, epochs=epochs, optimizer="sgd",
                            learning_rate=0.001, seed=5)["run"]  # fmt: skip
    api.wait_for(
        run_id, lambda r: r["status"] == "running" and r["progress"]["epoch"] >= 4, timeout=120
    )

    first.kill()  # kill -9, beat and all
    killed_at = api.get(f"/runs/{run_id}/").json()["progress"]["step"]
    time.sleep(1)
    assert api.get(f"/runs/{run_id}/").json()["status"] == "running"  # nobody has noticed yet

    workers("second")
    run = api.wait_for(run_id, finished, timeout=180, interval=0.5)
    assert run["status"] == "succeeded", run["error"]
    assert run["attempt"] == 2
    steps_per_epoch = 2400 // 8  # 3000 rows, 20 % held out
    total = epochs * steps_per_epoch
    series = api.get(
        f"/runs/{run_id}/metrics/", name=["train_loss", "lr", "val_loss"], max_points=100_000
    ).json()["series"]
    assert series["train_loss"]["steps"] == list(range(1, total + 1))  # no holes, no duplicates
    assert series["lr"]["steps"] == list(range(1, total + 1))
    assert series["val_loss"]["steps"] == [steps_per_epoch * e for e in range(1, epochs + 1)]
    events = api.get(f"/runs/{run_id}/events/").json()["events"]
    (requeued,) = [e for e in events if e["type"] == "requeued"]
    (resumed,) = [e for e in events if e["type"] == "resumed"]
    assert requeued["attempt"] == 2
    assert resumed["from_step"] % steps_per_epoch == 0 and resumed["from_step"] <= killed_at


def test_a_worker_killed_mid_sweep_still_ends_with_every_trial_of_the_budget(
    workers, live_server, django_user_model
):
    django_user_model.objects.create_user("ada", password=PASSWORD)
    api = Api(live_server.url, "ada", PASSWORD)
    first = workers("first")
    dataset = api.upload(large_regression_rows(n=1200, d=8), name="big.csv")
    budget, epochs = 3, 4
    sweep = create(
        api,
        base={"dataset": dataset["id"], "epochs": epochs, "batch_size": 16, "optimizer": "sgd",
              "seed": 5},
        space={"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        method="random", max_trials=budget, max_concurrent=2, seed=3,
    )  # fmt: skip
    trials = api.get(f"/sweeps/{sweep['id']}/trials/").json()
    assert len(trials) == 2  # max_concurrent asked at once, one training, one queued
    running = api.wait_for(  # the worker takes the first trial's run first
        trials[0]["run"],
        lambda r: r["status"] == "running" and r["progress"]["epoch"] >= 1,
        timeout=120,
    )

    first.kill()  # kill -9 mid-trial: its run is lost with its worker, beat and all
    workers("second")
    sweep = wait_sweep(api, sweep["id"], lambda s: s["status"] == "finished", timeout=400)
    trials = api.get(f"/sweeps/{sweep['id']}/trials/").json()
    assert len(trials) == budget
    assert [t["number"] for t in trials] == list(range(budget))
    assert sweep["progress"]["running"] == 0 and sweep["progress"]["complete"] == budget
    for trial in trials:  # each told to the study with the last val_loss of its run
        assert trial["state"] == "complete" and trial["run_status"] == "succeeded", trial
        series = api.get(f"/runs/{trial['run']}/metrics/", name="val_loss").json()["series"]
        assert len(series["val_loss"]["values"]) == epochs
        assert series["val_loss"]["values"][-1] == pytest.approx(trial["value"])
    resumed = api.get(f"/runs/{running['id']}/").json()
    assert resumed["attempt"] == 2  # the killed trial resumed on the second worker
