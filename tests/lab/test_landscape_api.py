"""A run's loss landscape through the API: its cost before it starts, refused with a 400
naming the field (nothing created), queued on the training queue, computed by the worker's
task to stored grids of training and validation losses with the trajectory on the PCA plane,
and cancelled; a surface split into parts merges to the one-part surface, fails saying which
part failed, and stops every part on a cancel."""

from __future__ import annotations

import math

import pytest

from downhill.lab.models import Landscape
from downhill.runs.checkpoints import kept_weights
from tests.conftest import csv_file, iris_rows
from workers.contract.landscape import LANDSCAPE_TASK

URL = "/api/v1/lab/landscapes/"
EPOCHS = 6


@pytest.fixture
def trained(train_upload):
    """A finished iris run (120 training rows, 30 validation), with its kept weights."""
    content = csv_file(iris_rows()).getvalue()
    return train_upload(content, "iris.csv", target="species", epochs=EPOCHS, batch_size=16)


@pytest.mark.django_db(transaction=True)
def test_a_run_keeps_its_initial_final_and_per_epoch_weights(trained):
    epochs = [f"epoch-{e:06d}" for e in range(1, EPOCHS + 1)]
    assert kept_weights(trained.id) == [*epochs, "final", "initial"]


@pytest.mark.django_db(transaction=True)
def test_the_cost_is_shown_before_and_the_worker_computes_the_surface_with_its_trajectory(
    api, trained, sent_tasks, django_capture_on_commit_callbacks
):
    from workers.tasks import lab_landscape

    estimate = api.post(f"{URL}estimate/", {"run": trained.id}, format="json")
    assert estimate.status_code == 200, estimate.content
    cost = estimate.json()["cost"]
    assert cost["cells"] == 21 * 21 and cost["batches"] == 2  # train and validation, one each
    assert cost["forward_passes"] == 882 and cost["rows"] == {"train": 120, "validation": 30}
    assert estimate.json()["params"]["directions"] == "pca"  # the run kept snapshots
    assert not Landscape.objects.exists() and not sent_tasks

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(URL, {"run": trained.id, "grid": 11}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "queued" and body["cost"]["forward_passes"] == 11 * 11 * 2
    jobs = [t for t in sent_tasks if t["name"] == LANDSCAPE_TASK]
    assert jobs and jobs[0]["args"] == [body["id"], 0] and jobs[0]["queue"] == "training"

    lab_landscape(body["id"])
    done = api.get(f"{URL}{body['id']}/").json()
    assert done["status"] == "succeeded", done["error"]
    result = done["result"]
    assert result["forward_passes"] == body["cost"]["forward_passes"]
    assert done["cells_done"] == 121
    assert len(result["train"]) == len(result["validation"]) == 11
    assert all(len(row) == 11 and all(math.isfinite(v) for v in row) for row in result["train"])
    path = result["trajectory"]
    assert len(path["x"]) == len(path["y"]) == EPOCHS + 1  # the initial weights and each epoch
    assert path["x"][-1] == pytest.approx(0.0, abs=1e-6)  # the last snapshot is the final model
    assert path["x"][0] != pytest.approx(0.0)
    xs, ys = result["alphas"], result["betas"]
    assert min(xs) < min(path["x"]) and max(xs) > max(path["x"])  # the plane covers the path
    assert min(ys) < min(path["y"]) and max(ys) > max(path["y"])
    assert [item["id"] for item in api.get(f"{URL}?run={trained.id}").json()["results"]] == [
        body["id"]
    ]


@pytest.mark.django_db(transaction=True)
def test_the_line_runs_from_the_initial_weights_down_to_the_final(api, trained, sent_tasks):
    from workers.tasks import lab_landscape

    body = {"run": trained.id, "kind": "line", "grid": 21, "range": [-0.5, 1.5]}
    landscape_id = api.post(URL, body, format="json").json()["id"]
    lab_landscape(landscape_id)
    done = api.get(f"{URL}{landscape_id}/").json()
    assert done["status"] == "succeeded", done["error"]
    alphas, train = done["result"]["alphas"], done["result"]["train"]
    assert len(alphas) == len(train) == 21 and alphas[5] == pytest.approx(0.0)
    assert train[15] < train[5]  # the final weights (a = 1) lie below the initial (a = 0)
    assert done["result"]["forward_passes"] == 21 * 2


@pytest.mark.django_db(transaction=True)
def test_a_surface_split_into_parts_merges_to_the_one_part_surface_exactly(
    api, trained, sent_tasks, django_capture_on_commit_callbacks
):
    from workers.tasks import lab_landscape

    body = {"run": trained.id, "grid": 9}
    whole = api.post(URL, body, format="json").json()["id"]
    lab_landscape(whole)
    with django_capture_on_commit_callbacks(execute=True):
        split = api.post(URL, {**body, "parts": 3}, format="json").json()
    jobs = [t["args"] for t in sent_tasks if t["name"] == LANDSCAPE_TASK]
    assert jobs[-3:] == [[split["id"], 0], [split["id"], 1], [split["id"], 2]]
    lab_landscape(split["id"], 0)
    half = api.get(f"{URL}{split['id']}/").json()
    assert half["status"] == "running" and half["cells_done"] == half["parts"][0]["cells_done"]
    coarse = half["result"]["partial"]["train"]
    assert all(coarse[0][j] is not None for j in (0, 2, 4, 6, 8))  # part 0's coarse row first
    assert [p["status"] for p in half["parts"]] == ["succeeded", "queued", "queued"]
    lab_landscape(split["id"], 2)
    lab_landscape(split["id"], 1)
    done, one = (api.get(f"{URL}{i}/").json() for i in (split["id"], whole))
    assert done["status"] == "succeeded", done["error"]
    for key in ("train", "validation", "alphas", "betas", "trajectory", "forward_passes", "rows"):
        assert done["result"][key] == one["result"][key], key
    assert done["cells_done"] == 81 and "partial" not in done["result"]
    assert sum(p["forward_passes"] for p in done["parts"]) == 81 * 2
    assert all(p["worker"] for p in done["parts"])


@pytest.mark.django_db(transaction=True)
def test_a_part_that_fails_fails_the_job_saying_which_and_a_cancel_stops_every_part(
    api, trained, sent_tasks
):
    from django.core.files.storage import default_storage

    from downhill.runs.checkpoints import weights_path
    from workers.tasks import lab_landscape

    cancelled = api.post(URL, {"run": trained.id, "grid": 5, "parts": 2}, format="json").json()
    lab_landscape(cancelled["id"], 0)
    assert api.post(f"{URL}{cancelled['id']}/cancel/").json()["status"] == "running"
    lab_landscape(cancelled["id"], 1)  # stops at its first write
    stopped = api.get(f"{URL}{cancelled['id']}/").json()
    assert stopped["status"] == "cancelled"
    assert [p["status"] for p in stopped["parts"]] == ["succeeded", "cancelled"]

    failing = api.post(URL, {"run": trained.id, "grid": 5, "parts": 2}, format="json").json()
    lab_landscape(failing["id"], 0)
    trained.refresh_from_db()
    for gone in (weights_path(trained.id, "final"), trained.artifacts["checkpoints"]["last"]):
        default_storage.delete(gone)  # the final model, in both places it is kept
    lab_landscape(failing["id"], 1)
    failed = api.get(f"{URL}{failing['id']}/").json()
    assert failed["status"] == "failed"
    assert failed["error"].startswith("Part 2 of 2 failed: The run's kept weights are gone")
    assert failed["parts"][1]["error"] and failed["parts"][1]["status"] == "failed"


@pytest.fixture
def finished(api, user):
    """A run marked succeeded with a stored model (no training: the checks come first)."""
    from downhill.experiments.services import experiment_create

    dataset = api.post("/api/v1/datasets/", {"file": csv_file(iris_rows())}, format="multipart")
    run = experiment_create(owner=user, data={"dataset": dataset.json()["id"]}).runs.get()
    run.status, run.artifacts = "succeeded", {"checkpoints": {"last": f"runs/{run.id}/last.pt"}}
    run.save()
    return run


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grid": 52}, "grid"),
        ({"grid": 2}, "grid"),
        ({"grid": 21.5}, "grid"),
        ({"range": [1.0, 1.0]}, "range"),  # an empty range
        ({"range": [2.0, -1.0]}, "range"),
        ({"range": "wide"}, "range"),
        ({"rows": 0}, "rows"),
        ({"kind": "cube"}, "kind"),
        ({"kind": "line", "directions": "pca"}, "directions"),
        ({"run": 10**9}, "run"),
        ({"run": "one"}, "run"),
        ({"zoom": 3}, "zoom"),
        ({"parts": 0}, "parts"),
        ({"grid": 5, "parts": 6}, "parts"),  # more parts than grid rows
        ({"kind": "line", "parts": 2}, "parts"),
        ({"kind": "line"}, "run"),  # a run without its initial weights
        ({"directions": "pca"}, "directions"),  # a run without snapshots
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, finished, body, field,
                                                                  sent_tasks):  # fmt: skip
    response = api.post(URL, {"run": finished.id, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Landscape.objects.exists() and not sent_tasks


@pytest.mark.django_db
def test_a_run_that_has_not_finished_and_another_users_run_are_refused(api, grace, user,
                                                                        sent_tasks):  # fmt: skip
    from downhill.experiments.services import experiment_create

    dataset = api.post("/api/v1/datasets/", {"file": csv_file(iris_rows())}, format="multipart")
    experiment = experiment_create(owner=user, data={"dataset": dataset.json()["id"]})
    run = experiment.runs.get()
    response = api.post(URL, {"run": run.id}, format="json")
    assert response.status_code == 400 and "queued" in response.json()["errors"]["run"][0]
    response = grace.post(URL, {"run": run.id}, format="json")
    assert response.status_code == 400 and "no run" in response.json()["errors"]["run"][0]
    assert not Landscape.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_cancel_of_a_queued_landscape_is_at_once_and_the_worker_skips_it(api, trained,
                                                                         sent_tasks):  # fmt: skip
    from workers.tasks import lab_landscape

    landscape_id = api.post(URL, {"run": trained.id}, format="json").json()["id"]
    assert api.post(f"{URL}{landscape_id}/cancel/").json()["status"] == "cancelled"
    lab_landscape(landscape_id)
    assert Landscape.objects.get(pk=landscape_id).status == "cancelled"
