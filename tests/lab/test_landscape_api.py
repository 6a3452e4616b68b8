"""A run's loss landscape through the API: its cost before it starts, refused with a 400
naming the field (nothing created), queued on the training queue, computed by the worker's
task to stored grids of training and validation losses with the trajectory on the PCA plane,
and cancelled."""

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
    assert jobs and jobs[0]["args"] == [body["id"]] and jobs[0]["queue"] == "training"

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
