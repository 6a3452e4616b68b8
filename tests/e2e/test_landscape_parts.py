"""A surface split into two parts on two real workers: each worker computes one part (its
name is on the part), the job's row merges them, and the merged surface equals the surface one
worker computed in one part, cell for cell."""

from __future__ import annotations

import pytest

from tests.conftest import iris_rows
from tests.e2e.conftest import finished
from tests.e2e.test_distributed_runs import api, workers  # noqa: F401 (fixtures)
from tests.e2e.test_landscape_worker import wait_for
from workers.contract.landscape import part_cells

pytestmark = [pytest.mark.e2e, pytest.mark.worker_faults, pytest.mark.django_db(transaction=True)]


def test_two_parts_on_two_workers_merge_to_the_one_worker_surface(workers, api):  # noqa: F811
    for name in ("landscape-a", "landscape-b"):
        workers(name)
    dataset = api.upload(iris_rows(), name="iris.csv", target="species")
    run_id = api.experiment(dataset=dataset["id"], epochs=5, batch_size=16)["run"]
    assert api.wait_for(run_id, finished)["status"] == "succeeded"

    body = {"run": run_id, "grid": 21}
    whole = wait_for(api, api.post("/lab/landscapes/", json=body).json()["id"])
    assert whole["status"] == "succeeded", whole["error"]
    created = api.post("/lab/landscapes/", json={**body, "parts": 2})
    assert created.status_code == 201, created.text
    split = wait_for(api, created.json()["id"])
    assert split["status"] == "succeeded", split["error"]
    workers_of_parts = [part["worker"] for part in split["parts"]]
    assert all(name.startswith("test-landscape-") for name in workers_of_parts)
    assert len(set(workers_of_parts)) == 2, workers_of_parts  # one part on each worker
    for key in ("train", "validation", "alphas", "betas", "trajectory", "forward_passes"):
        assert split["result"][key] == whole["result"][key], key
    assert split["result"]["forward_passes"] == 21 * 21 * 2
    assert [part["forward_passes"] for part in split["parts"]] == [
        2 * len(part_cells(21, part, 2)) for part in range(2)
    ]
