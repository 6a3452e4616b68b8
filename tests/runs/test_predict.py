"""POST /api/v1/runs/{id}/predict/: raw rows in, the run's final model's predictions out,
computed with NumPy in the web process; a bad row is named."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage

from tests.conftest import diabetes_rows, iris_rows

# The worker's metrics writer is a thread with its own connection: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def predict(api, run_id, rows):
    return api.post(f"/api/v1/runs/{run_id}/predict/", {"rows": rows}, format="json")


IRIS_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def test_numpy_predictions_equal_the_torch_models(api, trained):
    run = trained(diabetes_rows(), epochs=5, model={"type": "mlp", "hidden": [16], "activation": "gelu",
                                                    "batch_norm": True, "dropout": 0.2})  # fmt: skip
    header, *rows = diabetes_rows()
    sample = [dict(zip(header[:-1], row[:-1], strict=True)) for row in rows[:50]]
    response = predict(api, run["id"], sample)
    assert response.status_code == 200, response.content
    values = np.array([p["value"] for p in response.json()["predictions"]])

    from downhill.runs.models import Run
    from workers.contract.preprocessing import transform
    from workers.engine.models import build_model

    stored = Run.objects.get(pk=run["id"])
    with default_storage.open(stored.artifacts["checkpoints"]["last"], "rb") as f:
        checkpoint = torch.load(io.BytesIO(f.read()), weights_only=False)
    model = build_model(
        checkpoint["config"]["model"], checkpoint["n_features"], checkpoint["n_outputs"]
    )
    model.load_state_dict(checkpoint["model"])
    table = {name: np.array([float(r[name]) for r in sample]) for name in header[:-1]}
    x = torch.from_numpy(transform(table, stored.inference["preprocessing"]))
    scale = checkpoint["preprocessing"]["target_scale"]  # the default: a standardized target
    expected = model.eval()(x).detach().numpy().ravel() * scale["std"] + scale["mean"]
    assert 50 < expected.mean() < 300  # diabetes progression's units, not standardized ones
    np.testing.assert_allclose(values, expected, rtol=1e-4, atol=1e-4)


def test_classification_answers_labels_and_probabilities(api, trained):
    run = trained(iris_rows(), epochs=60, learning_rate=0.01, seed=1)
    response = predict(api, run["id"], [IRIS_ROW, {**IRIS_ROW, "petal_length": None}])
    assert response.status_code == 200, response.content
    first, second = response.json()["predictions"]
    assert first["label"] == "setosa"
    assert set(first["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert sum(second["probabilities"].values()) == pytest.approx(1.0)  # a null is imputed


def test_hinge_loss_answers_scores_not_probabilities(api, trained):
    run = trained(iris_rows(), epochs=30, loss="hinge", learning_rate=0.01)
    (prediction,) = predict(api, run["id"], [IRIS_ROW]).json()["predictions"]
    assert "probabilities" not in prediction and set(prediction["scores"]) == {
        "setosa",
        "versicolor",
        "virginica",
    }


@pytest.mark.parametrize(
    ("rows", "field", "fragment"),
    [
        ([{**IRIS_ROW, "petal_width": "wide"}], "rows[0].petal_width", "not a number"),
        (
            [IRIS_ROW, {k: v for k, v in IRIS_ROW.items() if k != "sepal_width"}],
            "rows[1].sepal_width",
            "missing",
        ),
        ([{**IRIS_ROW, "colour": "red"}], "rows[0]", "unknown column 'colour'"),
        ([IRIS_ROW, "5.1,3.5"], "rows[1]", "object"),
        ([], "rows", "non-empty list"),
        ([IRIS_ROW] * 1001, "rows", "at most 1000"),
    ],
)
def test_a_bad_row_is_refused_naming_row_and_column(api, trained, rows, field, fragment):
    run = trained(iris_rows(), epochs=2)
    response = predict(api, run["id"], rows)
    assert response.status_code == 400
    assert (
        response.json()["detail"].startswith(f"{field}: ") and fragment in response.json()["detail"]
    )


def test_a_run_without_a_model_answers_409_and_another_users_run_404(
    api, trained, upload, other_user, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    run = trained(iris_rows(), epochs=2)
    dataset = upload(iris_rows()).json()["id"]
    with django_capture_on_commit_callbacks(execute=False):  # stays queued: no worker sees it
        queued = api.post("/api/v1/experiments/", {"dataset": dataset}, format="json").json()["run"]
    assert predict(api, queued, [IRIS_ROW]).status_code == 409
    grace = APIClient()
    grace.force_authenticate(other_user)
    assert predict(grace, run["id"], [IRIS_ROW]).status_code == 404
