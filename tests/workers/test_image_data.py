"""Image tables in the engine: (n, c, h, w) float tensors scaled to [0, 1] and standardized
per channel with training-split statistics, a stratified split, and a CNN built for them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.datasets.builders import stripes
from tests.workers.test_engine import config
from workers.contract.preprocessing import IMAGE_CHUNK, transform
from workers.contract.splits import split_indices
from workers.engine import fit, prepare
from workers.engine.models import build_model

CPU = torch.device("cpu")


def image_table(images: np.ndarray, labels, scale: float = 255.0):
    table = {"image": images, "label": np.array(labels, dtype=object)}
    schema = [
        {"name": "image", "dtype": "image", "shape": [images.shape[3], *images.shape[1:3]],
         "pixel_scale": scale},
        {"name": "label", "dtype": "categorical"},
    ]  # fmt: skip
    return table, schema


def image_config(**overrides) -> dict:
    return config(
        target="label", task="classification", loss="cross_entropy", optimizer="adam",
        learning_rate=0.01, model={"type": "cnn", "channels": [8, 16], "activation": "relu",
        "dropout": 0.0, "batch_norm": False}, **overrides,
    )  # fmt: skip


def test_images_become_n_c_h_w_float_tensors_and_n_features_their_shape():
    images, labels = stripes(10, size=12)
    table, schema = image_table(images, labels)
    data = prepare(table, schema, image_config())

    assert data.x_train.dtype == torch.float32
    assert data.x_train.shape == (16, 3, 12, 12) and data.x_val.shape == (4, 3, 12, 12)
    assert data.n_features == (3, 12, 12)
    assert data.classes == ["horizontal", "vertical"]
    model = build_model(image_config()["model"], data.n_features, len(data.classes))
    assert model(data.x_val).shape == (4, 2)


def test_pixels_are_scaled_then_standardized_per_channel_with_training_statistics():
    images, labels = stripes(20, size=8, seed=1)
    table, schema = image_table(images, labels)
    data = prepare(table, schema, image_config(validation_split=0.25))

    train, _, _ = split_indices(40, 0.25, 3, np.array([0] * 20 + [1] * 20))
    scaled = images[train].astype(np.float64) / 255
    feature = data.preprocessing["features"][0]
    assert feature["kind"] == "image" and feature["shape"] == [3, 8, 8] and feature["scale"] == 255
    np.testing.assert_allclose(feature["mean"], scaled.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(feature["std"], scaled.std(axis=(0, 1, 2)), rtol=1e-6)
    per_channel = data.x_train.double()
    np.testing.assert_allclose(per_channel.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(per_channel.std(dim=(0, 2, 3), unbiased=False).numpy(), 1, atol=1e-4)
    assert abs(data.x_val.mean().item()) > 1e-4  # validation rows did not shape the statistics


def test_the_split_is_stratified_by_class():
    images, labels = stripes(30, size=8)
    labels = np.array(labels)
    labels[:10] = "vertical"  # 20 horizontal, 40 vertical
    table, schema = image_table(images, labels)
    data = prepare(table, schema, image_config(validation_split=0.25))

    assert torch.bincount(data.y_val).tolist() == [5, 10]
    assert torch.bincount(data.y_train).tolist() == [15, 30]


def test_grayscale_images_of_pixel_fractions_keep_their_scale():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(10, 5, 6, 1)).astype(np.float32)
    table, schema = image_table(images, ["a", "b"] * 5, scale=1.0)
    data = prepare(table, schema, image_config(validation_split=0.0))

    assert data.n_features == (1, 5, 6)
    feature = data.preprocessing["features"][0]
    assert feature["mean"][0] == pytest.approx(images.mean(), rel=1e-5)


def test_a_channel_of_one_value_is_not_divided_by_zero():
    images = np.zeros((6, 4, 4, 3), dtype=np.uint8)
    images[:3, ..., 0] = 255
    table, schema = image_table(images, ["a"] * 3 + ["b"] * 3)
    data = prepare(table, schema, image_config(validation_split=0.0))

    assert data.preprocessing["features"][0]["std"][1:] == [1.0, 1.0]
    assert torch.isfinite(data.x_train).all()


def test_transform_in_chunks_equals_transform_at_once():
    rng = np.random.default_rng(0)
    n = IMAGE_CHUNK * 2 + 7
    images = rng.integers(0, 256, (n, 3, 2, 3), dtype=np.uint8)
    feature = {"name": "image", "kind": "image", "shape": [3, 3, 2], "scale": 255.0,
               "mean": [0.1, 0.5, 0.9], "std": [0.2, 0.3, 0.4]}  # fmt: skip
    out = transform({"image": images}, {"features": [feature]})

    expected = (images / 255.0 - feature["mean"]) / feature["std"]
    np.testing.assert_allclose(out, expected.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-6)
    rows = np.array([n - 1, 0])
    np.testing.assert_array_equal(
        transform({"image": images}, {"features": [feature]}, rows), out[rows]
    )


def test_a_cnn_learns_horizontal_from_vertical_stripes():
    images, labels = stripes(40, size=12)
    table, schema = image_table(images, labels)
    cfg = image_config(epochs=6, batch_size=16)
    result = fit(cfg, prepare(table, schema, cfg), device=CPU)

    assert result.summary["val_accuracy"] >= 0.9
