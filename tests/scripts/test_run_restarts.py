"""`make run` keeps going when one of its processes dies: the training worker killed with
kill -9 mid-run is started again, the web answers all along, and the run resumes from its
checkpoint to finish with one point per step. Ctrl-C still stops everything."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from bench.chaos.stack import Stack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker_faults]


def poll_web(stack: Stack, stop: threading.Event, failures: list) -> None:
    """GET the run list every 0.2 s; note any answer but 200 and any refused connection."""
    while not stop.is_set():
        try:
            status = requests.get(
                f"{stack.base}/api/v1/runs/", headers=stack.auth, timeout=10
            ).status_code
            if status != 200:
                failures.append(status)
        except requests.RequestException as exc:
            failures.append(repr(exc))
        time.sleep(0.2)


def test_a_killed_training_worker_is_restarted_and_its_run_resumes_with_one_point_per_step():
    stack = Stack(embedded=True).start()
    stop, failures = threading.Event(), []
    try:
        dataset = stack.upload(rows=400)
        epochs = 60
        run_id = stack.experiment(dataset["id"], epochs=epochs, batch_size=8, seed=3)
        wait_until(
            lambda: (
                (r := stack.get(f"/runs/{run_id}/"))["status"] == "running"
                and r["progress"]["epoch"] >= 3
            ),
            180,
            "the run to pass its third epoch",
        )
        poller = threading.Thread(target=poll_web, args=(stack, stop, failures))
        poller.start()
        [worker] = stack.processes("-Q training")
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: stack.processes("-Q training") not in ([], [worker]), 30, "a new worker")
        run = wait_until(
            lambda: (r := stack.get(f"/runs/{run_id}/"))["status"] in ("succeeded", "failed") and r,
            300,
            "the run to finish",
        )
        stop.set()
        poller.join()
        assert run["status"] == "succeeded", run.get("error")
        assert run["attempt"] == 2
        total = run["progress"]["steps"]
        assert stack.steps(run_id) == list(range(1, total + 1))  # no holes, no duplicates
        assert failures == []
        assert "The training worker 1 (pid" in stack.tail(100_000)
    except BaseException:
        print(stack.tail())
        raise
    finally:
        stop.set()
        stack.stop()


def test_a_worker_killed_while_another_waits_to_restart_is_restarted_too():
    """The second death lands in the first one's restart backoff, when bash reaps it unasked
    (bench/chaos on the embedded stack: both training workers were never started again)."""
    stack = Stack(embedded=True, workers=2).start()
    try:
        first, second = wait_until(
            lambda: len(found := stack.processes("-Q training")) == 2 and found, 60, "2 workers"
        )
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: f"(pid {first}) exited" in stack.tail(100_000), 30, "the restart")
        os.kill(second, signal.SIGKILL)
        wait_until(
            lambda: (now := stack.processes("-Q training")) and len(now) == 2
            and not {first, second} & set(now),
            30,
            "both workers started again",
        )  # fmt: skip
        assert f"(pid {second}) exited" in stack.tail(100_000)
    except BaseException:
        print(stack.tail())
        raise
    finally:
        stack.stop()
