"""POST /api/v1/runs/{id}/predict/ for a run trained on images: each row's image as a base64
PNG or JPEG file, decoded as the upload decoded its images, or as pixel values. The NumPy
answers equal the torch model's on the same preprocessed input; a bad image is named."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage

from downhill.datasets.images import PATH_SEPARATOR
from downhill.runs.models import Run
from tests.datasets.builders import (
    class_folders,
    image_bytes,
    npz_bytes,
    solid,
    stripes,
    zip_bytes,
)

# The worker's metrics writer is a thread with its own connection: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

STRIPES_CNN = {"type": "cnn", "channels": [8, 16]}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def predict(api, run: Run, rows: list):
    return api.post(f"/api/v1/runs/{run.id}/predict/", {"rows": rows}, format="json")


def answered(api, run: Run, rows: list) -> tuple[list[str], np.ndarray]:
    """The predicted labels and the probabilities, one row per image, in the run's class order."""
    response = predict(api, run, rows)
    assert response.status_code == 200, response.content
    predictions = response.json()["predictions"]
    classes = run.inference["classes"]
    probabilities = np.array([[p["probabilities"][c] for c in classes] for p in predictions])
    return [p["label"] for p in predictions], probabilities


def torch_probabilities(run: Run, pixels: np.ndarray) -> np.ndarray:
    """The trained torch model's softmax on raw pixels (n, height, width, channels) in the
    training data's units, through the run's fitted preprocessing."""
    from workers.contract.preprocessing import transform
    from workers.engine.models import build_model

    with default_storage.open(run.artifacts["checkpoints"]["last"], "rb") as f:
        checkpoint = torch.load(io.BytesIO(f.read()), weights_only=False)
    model = build_model(
        checkpoint["config"]["model"], checkpoint["n_features"], checkpoint["n_outputs"]
    )
    model.load_state_dict(checkpoint["model"])
    x = transform({"image": pixels}, run.inference["preprocessing"])
    with torch.no_grad():
        return torch.softmax(model.eval()(torch.from_numpy(x)), dim=1).numpy()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width × height RGB pixels and holds none: what a decompression
    bomb looks like until it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")  # fmt: skip


def test_a_zip_run_predicts_base64_pngs_and_pixel_arrays_as_its_torch_model_does(api, train_upload):
    images, labels = stripes(40)
    run = train_upload(
        class_folders(images, labels), "stripes.zip", epochs=6, batch_size=16,
        learning_rate=0.01, seed=0, model=STRIPES_CNN,
    )  # fmt: skip
    assert run.inference["preprocessing"]["features"][0]["shape"] == [3, 16, 16]
    new_images, new_labels = stripes(6, seed=7)  # 16 × 16 RGB as the training images: no resize

    from_files = answered(api, run, [{"image": b64(image_bytes(i))} for i in new_images])
    from_arrays = answered(api, run, [{"image": i.tolist()} for i in new_images])

    assert from_files[0] == from_arrays[0] == new_labels.tolist()
    np.testing.assert_array_equal(from_files[1], from_arrays[1])
    np.testing.assert_allclose(
        from_files[1], torch_probabilities(run, new_images), rtol=0, atol=1e-5
    )


def test_a_sent_file_becomes_the_pixels_the_upload_made_of_it(api, train_upload):
    """Odd members (bigger, a JPEG, transparent, grayscale among RGB) are resized and converted
    when uploaded; sent for prediction, each answers as its stored pixels do."""
    images, labels = stripes(6)
    rng = np.random.default_rng(3)
    odd = {
        "shapes/horizontal/big.png": image_bytes(rng.integers(0, 256, (40, 40, 3))),
        "shapes/horizontal/photo.jpg": image_bytes(rng.integers(0, 256, (32, 48, 3)), fmt="JPEG"),
        "shapes/vertical/clear.png": image_bytes(rng.integers(0, 256, (24, 24, 4))),
        "shapes/vertical/gray.png": image_bytes(rng.integers(0, 256, (16, 20))),
    }
    members = {f"shapes/{label}/{i}.png": image_bytes(image)
               for i, (image, label) in enumerate(zip(images, labels, strict=True))}  # fmt: skip
    run = train_upload(zip_bytes({**members, **odd}), "odd.zip", epochs=1, model={"type": "cnn", "channels": [4]})  # fmt: skip
    with run.experiment.dataset.arrays.open("rb") as f, np.load(f) as stored:
        paths = str(stored["paths"]).split(PATH_SEPARATOR)
        pixels = {name: stored["X"][paths.index(name)] for name in odd}

    _, from_files = answered(api, run, [{"image": b64(data)} for data in odd.values()])
    _, from_stored = answered(api, run, [{"image": pixels[name].tolist()} for name in odd])

    np.testing.assert_array_equal(from_files, from_stored)
    np.testing.assert_allclose(
        from_files, torch_probabilities(run, np.stack(list(pixels.values()))), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("fractions", [False, True], ids=["pixels-0-255", "pixels-0-1"])
def test_an_npz_run_predicts_pixel_arrays_and_files_as_its_torch_model_does(
    api, train_upload, fractions
):
    rng = np.random.default_rng(0)

    def squares(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.array([0, 1] * (n // 2))
        x = rng.integers(0, 90, (n, 10, 10)).astype(np.uint8)
        x[labels == 1] += 120  # bright squares against dark ones
        return x, labels

    def units(x: np.ndarray) -> np.ndarray:  # as the NPZ held its pixels
        return (x / 255).astype(np.float32) if fractions else x

    x, labels = squares(80)
    run = train_upload(
        npz_bytes(X=units(x), y=labels), "squares.npz", epochs=4, batch_size=16,
        learning_rate=0.01, seed=0, model={"type": "cnn", "channels": [8]},
    )  # fmt: skip
    assert run.inference["preprocessing"]["features"][0]["scale"] == (1.0 if fractions else 255.0)
    new, new_labels = squares(8)

    as_grids = answered(api, run, [{"image": units(i).tolist()} for i in new])  # height × width
    as_cells = answered(api, run, [{"image": units(i)[..., None].tolist()} for i in new])
    as_files = answered(api, run, [{"image": b64(image_bytes(i))} for i in new])

    assert as_grids[0] == as_cells[0] == as_files[0] == [str(label) for label in new_labels]
    np.testing.assert_array_equal(as_grids[1], as_cells[1])
    np.testing.assert_array_equal(as_files[1], as_grids[1])
    np.testing.assert_allclose(
        as_grids[1], torch_probabilities(run, units(new)[..., None]), rtol=0, atol=1e-5
    )
    if fractions:
        response = predict(api, run, [{"image": new[0].tolist()}])  # 0-255 for a 0-1 run
        assert response.status_code == 400
        assert "from 0 to 1" in response.json()["detail"]


@pytest.fixture
def stripes_run(train_upload) -> Run:
    """A quickly trained run on a ZIP of 16 × 16 RGB stripes."""
    images, labels = stripes(4)
    return train_upload(class_folders(images, labels), "s.zip", epochs=1, model={"type": "cnn", "channels": [4]})  # fmt: skip


GOOD = {"image": b64(solid(128))}
TRUNCATED = image_bytes(np.random.default_rng(2).integers(0, 256, (32, 32, 3)))[:300]
GIF = image_bytes(np.zeros((4, 4), dtype=np.uint8), fmt="GIF")


@pytest.mark.parametrize(
    ("rows", "field", "fragment"),
    [
        ([{"image": "not base64!"}], "rows[0].image", "not base64"),
        ([GOOD, {"image": b64(b"hello")}], "rows[1].image", "neither PNG nor JPEG"),
        ([{"image": b64(GIF)}], "rows[0].image", "neither PNG nor JPEG"),
        ([{"image": b64(TRUNCATED)}], "rows[0].image", "cannot be decoded"),
        ([{"image": b64(png_header(8000, 7000))}], "rows[0].image", "8000×7000 pixels; the largest accepted has 50,000,000"),
        ([{"image": b64(png_header(100_000, 100_000))}], "rows[0].image", "DecompressionBombError"),
        ([{"image": [[0, 255], [255, 0]]}], "rows[0].image", "has shape 2×2; this run's images are 16×16×3"),
        ([{"image": np.full((16, 16, 3), 300).tolist()}], "rows[0].image", "from 300 to 300"),
        ([{"image": [[1, 2], [3]]}], "rows[0].image", "nested lists of numbers"),
        ([{"image": [["a"]]}], "rows[0].image", "nested lists of numbers"),
        ([GOOD, {"image": None}], "rows[1].image", "PNG or JPEG file in base64, or pixel values"),
        ([{"label": "vertical"}], "rows[0].image", "is missing"),
        ([{**GOOD, "colour": "red"}], "rows[0]", "unknown column 'colour'"),
        (["abc"], "rows[0]", "must be an object"),
        ([GOOD] * 1001, "rows", "at most 1000 rows"),
    ],
    ids=[
        "not-base64", "not-an-image", "gif", "truncated", "over-50-megapixels",
        "decompression-bomb", "wrong-shape", "out-of-range", "ragged", "text", "null",
        "missing", "unknown-column", "not-an-object", "too-many-rows",
    ],
)  # fmt: skip
def test_a_bad_image_row_is_refused_naming_it(api, stripes_run, rows, field, fragment):
    response = predict(api, stripes_run, rows)

    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(f"{field}: "), response.json()
    assert fragment in response.json()["detail"]


def test_the_images_of_one_request_are_held_to_a_pixel_budget(api, stripes_run, monkeypatch):
    monkeypatch.setattr("downhill.runs.predict.MAX_PREDICT_IMAGE_PIXELS", 1000)
    image = {"image": b64(solid(60, size=(20, 20)))}  # 400 pixels

    assert predict(api, stripes_run, [image] * 2).status_code == 200
    response = predict(api, stripes_run, [image] * 3)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("rows[2].image: takes the request's images past")


def test_a_body_over_the_request_size_limit_is_refused(api, stripes_run, settings):
    # DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB) caps every non-file request body; lowered here so
    # the test stays small. The body is refused before it is parsed: a JSON 413, as the API's
    # other errors (Django alone would answer an HTML 400).
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    rows = [{"image": b64(image_bytes(np.random.default_rng(i).integers(0, 256, (64, 64, 3))))}
            for i in range(20)]  # fmt: skip

    assert predict(api, stripes_run, rows[:2]).status_code == 200
    response = predict(api, stripes_run, rows)
    assert response.status_code == 413
    assert (
        response.json()["detail"] == "The request body is over this server's limit of 0.0953674 MB."
    )
