"""The worker exports each succeeded run's network as ONNX and TorchScript; loaded outside
Downhill (onnxruntime, torch.jit.load) they give POST /predict/'s answers within 1e-5. The
run's checkpoints and config download too (GET /runs/{id}/download/{name}/)."""

from __future__ import annotations

import io
import json

import numpy as np
import onnxruntime
import pytest
import torch

from tests.conftest import diabetes_rows, iris_rows
from tests.runs.test_predict import predict
from workers.contract.preprocessing import transform
from workers.contract.transforms import probabilities, values

pytestmark = pytest.mark.django_db(transaction=True)


def download(api, run_id, what):
    return api.get(f"/api/v1/runs/{run_id}/download/{what}/")


def _sample(rows, n=40):
    header, *body = rows
    return header[:-1], [dict(zip(header[:-1], row[:-1], strict=True)) for row in body[:n]]


def _features(api, run_id, names, sample) -> np.ndarray:
    """The rows preprocessed as the downloaded inference JSON says (no Downhill database)."""
    table = {name: np.array([float(r[name]) for r in sample]) for name in names}
    inference = json.loads(download(api, run_id, "inference").getvalue())
    return transform(table, inference["preprocessing"]).astype(np.float32)


def _outputs(api, run_id, x) -> dict[str, np.ndarray]:
    """The raw outputs of the downloaded ONNX and TorchScript models on features `x`."""
    onnx_bytes = download(api, run_id, "onnx").getvalue()
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    script = torch.jit.load(io.BytesIO(download(api, run_id, "torchscript").getvalue()))
    with torch.no_grad():
        script_out = script(torch.from_numpy(x)).numpy()
    return {"onnx": onnx_out, "torchscript": script_out}


def test_exported_classifier_predicts_as_the_api_does(api, trained):
    run = trained(iris_rows(), epochs=20, learning_rate=0.01, seed=3,
                  model={"type": "mlp", "hidden": [16, 8], "activation": "gelu",
                         "batch_norm": True, "dropout": 0.1})  # fmt: skip
    names, sample = _sample(iris_rows())
    response = predict(api, run["id"], sample)
    assert response.status_code == 200, response.content
    api_p = np.array([list(p["probabilities"].values()) for p in response.json()["predictions"]])
    x = _features(api, run["id"], names, sample)
    for fmt, out in _outputs(api, run["id"], x).items():
        got = probabilities("softmax", out.astype(np.float64))
        np.testing.assert_allclose(got, api_p, rtol=0, atol=1e-5, err_msg=fmt)
        assert out.shape == (len(sample), 3), fmt  # the batch dimension is not fixed at 2


def test_exported_regressor_predicts_as_the_api_does(api, trained):
    run = trained(diabetes_rows(), epochs=5, model={"type": "mlp", "hidden": [16]})
    names, sample = _sample(diabetes_rows())
    response = predict(api, run["id"], sample)
    assert response.status_code == 200, response.content
    api_v = np.array([p["value"] for p in response.json()["predictions"]])
    x = _features(api, run["id"], names, sample)
    for fmt, out in _outputs(api, run["id"], x).items():
        got = values("identity", out[:, 0].astype(np.float64))
        np.testing.assert_allclose(got, api_v, rtol=1e-5, atol=1e-5, err_msg=fmt)


def test_checkpoints_and_config_download(api, trained):
    run = trained(iris_rows(), epochs=3, seed=1)
    for name in ("best", "last"):
        response = download(api, run["id"], name)
        assert response.status_code == 200, (name, response.content)
        assert f'filename="run-{run["id"]}-{name}.pt"' in response["Content-Disposition"]
        checkpoint = torch.load(io.BytesIO(response.getvalue()), weights_only=False)
        assert "model" in checkpoint
    inference = json.loads(download(api, run["id"], "inference").getvalue())
    assert inference["classes"] == ["setosa", "versicolor", "virginica"]
    assert inference["preprocessing"]["features"][0]["name"] == "sepal_length"
    config = json.loads(download(api, run["id"], "config").getvalue())
    assert config["epochs"] == 3 and config["seed"] == 1
    again = api.post("/api/v1/experiments/", config, format="json")  # reruns as downloaded
    assert again.status_code == 201, again.content


def test_a_run_without_a_model_names_what_is_missing(api, run):
    response = download(api, run.id, "onnx")
    assert response.status_code == 404
    assert "queued" in response.json()["detail"]
    assert download(api, run.id, "weights").status_code == 404  # not a download name
    assert download(api, run.id, "config").status_code == 200  # the config exists already
