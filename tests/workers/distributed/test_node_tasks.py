"""The node tasks of a multi-node run, called directly: node 0 asks for the other nodes by
name on the training queue, and a node task for a run no longer running under that lease
starts nothing."""

from __future__ import annotations

import pytest

from downhill.runs.models import Run
from workers.contract.tasks import TRAIN_NODE_TASK, TRAINING_QUEUE
from workers.tasks import train_node, train_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_node_zero_sends_a_node_task_per_further_node_and_fails_when_none_joins(
    queue_run,
    sent_tasks,
    settings,
):
    settings.DOWNHILL_RENDEZVOUS_SECONDS = 3
    settings.DOWNHILL_NODE_ADDRESS = "127.0.0.1"
    run_id = queue_run(epochs=1, distributed={"nodes": 3, "procs_per_node": 1})["run"]
    train_run(run_id)  # the two node tasks are recorded, not sent: no node ever joins

    run = Run.objects.get(pk=run_id)
    assert run.status == "failed"
    assert run.error.startswith("Not all 3 nodes of this run joined its rendezvous within 3 s")
    nodes = [task for task in sent_tasks if task["name"] == TRAIN_NODE_TASK]
    assert len(nodes) == 2 and all(task["queue"] == TRAINING_QUEUE for task in nodes)
    (arguments,) = {tuple(task["args"]) for task in nodes}  # the same rendezvous for both
    node_run, lease, endpoint, rendezvous = arguments
    assert node_run == run_id and lease and endpoint.startswith("127.0.0.1:")
    assert rendezvous == f"run-{run_id}-attempt-1"


def test_a_node_task_for_a_run_no_longer_running_under_its_lease_starts_nothing(
    queue_run,
    caplog,
):
    run_id = queue_run(epochs=1, distributed={"nodes": 2, "procs_per_node": 1})["run"]
    with caplog.at_level("INFO", logger="workers.distributed"):
        train_node(run_id, "someone-else:1:abc", "127.0.0.1:1", f"run-{run_id}-attempt-1")
    assert "no longer running under that attempt; node task skipped" in caplog.text
    assert "torchrun" not in caplog.text
    assert Run.objects.get(pk=run_id).status == "queued"
