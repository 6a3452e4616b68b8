"""Distributed runs on real workers: torchrun's ranks (gloo on this CPU machine) train one run,
on one worker or as two "nodes" (two workers) rendezvoused on localhost; a node that never
comes fails the attempt, saying so; a rank killed mid-run fails the attempt with no process
left, and the run resumes from its checkpoint; a cancel ends every rank."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from downhill.runs.checkpoints import resume_point
from tests.conftest import SESSION_WORKERS, WorkerProcess
from tests.e2e.conftest import PASSWORD, Api, finished
from tests.e2e.test_training_path import large_regression_rows

pytestmark = [pytest.mark.e2e, pytest.mark.worker_faults, pytest.mark.django_db(transaction=True)]

# A resume checkpoint at every epoch end; the rendezvous address of every "node" is localhost.
FAST = {"DOWNHILL_CHECKPOINT_SECONDS": "0", "DOWNHILL_NODE_ADDRESS": "127.0.0.1"}
TWO_RANKS = {"nodes": 1, "procs_per_node": 2}


@pytest.fixture
def workers(django_db_blocker, shared_media_root, tmp_path):
    """Start workers on demand; the session's shared worker is stopped first (it would take
    the runs too), which is why these tests run last."""
    for worker in SESSION_WORKERS:
        worker.stop()
    started: list[WorkerProcess] = []

    def start(name: str, **env: str) -> WorkerProcess:
        with django_db_blocker.unblock():
            worker = WorkerProcess(tmp_path / f"{name}.log", media_root=shared_media_root,
                                   **{**FAST, **env})  # fmt: skip
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"\n--- {worker.log_path.name} ---\n{worker.tail(4000)}")


@pytest.fixture
def api(live_server, django_user_model) -> Api:
    django_user_model.objects.create_user("ada", password=PASSWORD)
    return Api(live_server.url, "ada", PASSWORD)


def rank_processes(run_id: int) -> dict[int, int]:
    """{pid: rank} of the processes training `run_id`, torchrun as rank -1 (read from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if b"workers.rank" in argv and str(run_id).encode() in argv:
            rank = next((v[5:] for v in environ if v.startswith(b"RANK=")), b"-1")
            found[int(entry.name)] = int(rank)
    return found


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.2)
    return value


def steps_of(api: Api, run_id: int) -> list[int]:
    series = api.get(f"/runs/{run_id}/metrics/", name=["train_loss"], max_points=100_000).json()
    return series["series"]["train_loss"]["steps"]


def experiment(api: Api, rows=None, **config) -> int:
    dataset = api.upload(rows or large_regression_rows(n=600, d=4), name="table.csv")
    settings = {"batch_size": 16, "epochs": 2, "optimizer": "sgd", "learning_rate": 0.01, "seed": 5}
    return api.experiment(dataset=dataset["id"], **{**settings, **config})["run"]


def test_two_ranks_on_one_worker_train_the_run_with_one_point_per_step(workers, api):
    workers("solo")
    run_id = experiment(api, distributed=TWO_RANKS)
    run = api.wait_for(run_id, finished, timeout=180)
    assert run["status"] == "succeeded", run["error"]
    assert run["device"] == "cpu × 2 ranks"
    assert steps_of(api, run_id) == list(range(1, 2 * 30 + 1))  # 480 training rows, batch 16
    predicted = api.post(
        f"/runs/{run_id}/predict/", json={"rows": [{"x0": 0, "x1": 0, "x2": 0, "x3": 0}]}
    )
    assert predicted.status_code == 200, predicted.text  # rank 0 stored the model
    wait_until(lambda: not rank_processes(run_id), 20, "every rank ending")


def test_two_nodes_on_localhost_rendezvous_and_train_the_run(workers, api):
    first, second = workers("node-a"), workers("node-b")
    run_id = experiment(api, distributed={"nodes": 2, "procs_per_node": 1})
    run = api.wait_for(run_id, finished, timeout=240)
    assert run["status"] == "succeeded", run["error"]
    assert run["device"] == "cpu × 2 ranks on 2 nodes"
    assert steps_of(api, run_id) == list(range(1, 2 * 30 + 1))
    wait_until(lambda: not rank_processes(run_id), 20, "every rank ending")
    logs = first.tail(100_000) + second.tail(100_000)
    assert "downhill.train_run" in logs and "Task downhill.train_node" in logs


def test_a_node_that_never_joins_fails_the_attempt_saying_so(workers, api):
    workers("alone", DOWNHILL_RENDEZVOUS_SECONDS="5")  # its solo pool can be one node, not two
    run_id = experiment(api, distributed={"nodes": 2, "procs_per_node": 1})
    run = api.wait_for(run_id, finished, timeout=120)
    assert run["status"] == "failed"
    assert "Not all 2 nodes of this run joined its rendezvous within 5 s" in run["error"]
    wait_until(lambda: not rank_processes(run_id), 20, "every rank ending")


def test_a_killed_rank_fails_the_attempt_with_no_process_left_and_the_run_resumes(workers, api):
    workers("faulty")
    run_id = experiment(api, large_regression_rows(n=2000, d=4), batch_size=8, epochs=6,
                        distributed=TWO_RANKS)  # fmt: skip
    api.wait_for(run_id, lambda r: r["progress"]["epoch"] >= 3, timeout=180)
    ranks = wait_until(lambda: rank_processes(run_id), 10, "the ranks showing")
    (victim,) = [pid for pid, rank in ranks.items() if rank == 1]
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()

    api.wait_for(run_id, lambda r: r["attempt"] == 2, timeout=60, interval=0.2)
    wait_until(lambda: not set(ranks) & set(rank_processes(run_id)), 10, "the old ranks ending")
    assert time.monotonic() - killed < 60

    run = api.wait_for(run_id, finished, timeout=300)
    assert run["status"] == "succeeded", run["error"]
    assert steps_of(api, run_id) == list(range(1, 6 * 200 + 1))  # one point per step
    events = api.get(f"/runs/{run_id}/events/").json()["events"]
    (requeued,) = [e for e in events if e["type"] == "requeued"]
    assert "a rank ended unexpectedly" in requeued["reason"]
    (resumed,) = [e for e in events if e["type"] == "resumed"]
    assert resumed["from_step"] > 0 and resumed["from_step"] % 200 == 0


def test_a_cancel_reaches_every_rank(workers, api):
    workers("cancelled")
    run_id = experiment(api, large_regression_rows(n=2000, d=4), batch_size=8, epochs=50,
                        distributed=TWO_RANKS)  # fmt: skip
    api.wait_for(run_id, lambda r: r["progress"]["step"] > 0, timeout=180)
    ranks = wait_until(lambda: rank_processes(run_id), 10, "the ranks showing")
    assert sorted(ranks.values()) == [-1, 0, 1]  # torchrun itself, and the two ranks
    assert api.post(f"/runs/{run_id}/cancel/").status_code == 200
    run = api.wait_for(run_id, finished, timeout=60)
    assert run["status"] == "cancelled", run
    wait_until(lambda: not rank_processes(run_id), 20, "every rank ending")
    assert run["progress"]["step"] < 50 * 200
    # Rank 0 stored the checkpoint of the step every rank stopped at: the run can be resumed.
    assert resume_point(run_id) == run["progress"]["step"]


def test_the_ranks_of_a_worker_killed_with_kill_9_end_with_it(workers, api):
    worker = workers("lost")
    run_id = experiment(api, large_regression_rows(n=2000, d=4), batch_size=8, epochs=50,
                        distributed=TWO_RANKS)  # fmt: skip
    api.wait_for(run_id, lambda r: r["progress"]["step"] > 0, timeout=180)
    ranks = wait_until(lambda: rank_processes(run_id), 10, "the ranks showing")
    worker.kill()  # its process group: torchrun's session of its own is not in it
    wait_until(lambda: not set(ranks) & set(rank_processes(run_id)), 10, "the ranks ending")


def test_a_stopping_worker_stops_its_ranks_and_puts_the_run_back_in_the_queue(workers, api):
    worker = workers("stopping")
    run_id = experiment(api, large_regression_rows(n=2000, d=4), batch_size=8, epochs=50,
                        distributed=TWO_RANKS)  # fmt: skip
    api.wait_for(run_id, lambda r: r["progress"]["step"] > 0, timeout=180)
    ranks = wait_until(lambda: rank_processes(run_id), 10, "the ranks showing")
    worker.stop()  # SIGTERM: Celery's warm shutdown
    run = api.get(f"/runs/{run_id}/").json()
    assert (run["status"], run["attempt"]) == ("queued", 2), run
    assert not set(ranks) & set(rank_processes(run_id))
    events = api.get(f"/runs/{run_id}/events/").json()["events"]
    (requeued,) = [e for e in events if e["type"] == "requeued"]
    assert requeued["reason"] == "its worker was stopped"
