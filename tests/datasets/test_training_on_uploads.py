"""Each upload format trains end to end in-process: upload through the API, create the
experiment through the API, run it with the worker's own code, and check it learned."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import iris_rows
from tests.datasets.builders import class_folders, npz_bytes, post_bytes, stripes

# The worker's metrics writer is a thread with its own connection: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def train(api, train_upload):
    """The run as the API shows it, with its config."""

    def _train(content: bytes, filename: str, **config) -> dict:
        run = train_upload(content, filename, **config)
        return {**api.get(f"/api/v1/runs/{run.id}/").json(), "config": run.experiment.config}

    return _train


def test_a_table_npz_trains_like_its_csv(train):
    header, *rows = iris_rows()
    x = np.array([row[:-1] for row in rows], dtype=np.float32)
    y = np.array([row[-1] for row in rows])
    run = train(npz_bytes(X=x, y=y), "iris.npz", epochs=20, learning_rate=0.01, seed=1)

    assert run["config"]["model"]["type"] == "mlp"
    assert run["summary"]["val_accuracy"] >= 0.9


def test_a_zip_of_class_folders_trains_a_cnn(train):
    images, labels = stripes(40)
    run = train(
        class_folders(images, labels), "stripes.zip", epochs=6, batch_size=16,
        learning_rate=0.01, seed=0, model={"type": "cnn", "channels": [8, 16]},
    )  # fmt: skip

    assert run["config"]["model"]["type"] == "cnn" and run["config"]["target"] == "label"
    assert run["summary"]["rows"] == {"train": 64, "validation": 16, "test": 0}
    assert run["summary"]["val_accuracy"] >= 0.9


def test_an_npz_of_images_trains_a_cnn_by_default(train):
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 40)
    x = rng.integers(0, 90, (80, 10, 10)).astype(np.uint8)
    x[labels == 1] += 120  # bright squares against dark ones
    run = train(
        npz_bytes(X=x, y=labels), "squares.npz", epochs=4, batch_size=16, learning_rate=0.01, seed=0
    )

    assert run["config"]["model"] == {
        "type": "cnn", "channels": [32, 64], "activation": "relu", "dropout": 0.0, "batch_norm": False,
    }  # fmt: skip
    assert run["summary"]["val_accuracy"] >= 0.9


def test_a_mlp_on_an_image_dataset_is_refused_by_the_config(api):
    images, labels = stripes(2)
    dataset = post_bytes(api, class_folders(images, labels), filename="s.zip").json()["id"]
    response = api.post("/api/v1/experiments/", {"dataset": dataset, "model": "mlp"}, format="json")

    assert response.status_code == 400
    assert "use a cnn" in response.json()["detail"]


def test_the_image_column_as_an_experiments_target_is_refused(api):
    images, labels = stripes(2)
    dataset = post_bytes(api, class_folders(images, labels), filename="s.zip").json()["id"]
    response = api.post(
        "/api/v1/experiments/", {"dataset": dataset, "target": "image"}, format="json"
    )

    assert response.status_code == 400
    assert "holds the images" in response.json()["detail"]
