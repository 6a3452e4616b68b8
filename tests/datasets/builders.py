"""Small builders for dataset uploads (CSV bytes, PNG and JPEG images, ZIP and NPZ files)
and the check every refusal shares: a 400 naming the problem, and nothing left behind."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from downhill.datasets.models import Dataset

URL = "/api/v1/datasets/"


def post_bytes(api, content: bytes, filename: str = "data.csv", **fields):
    data = io.BytesIO(content)
    data.name = filename
    return api.post(URL, {"file": data, **fields}, format="multipart")


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()]


def assert_refused(response, field: str, *fragments: str, media_root) -> None:
    """A 400 in the API's error shape whose message names the problem; nothing was kept."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["errors"], body
    message = " ".join(body["errors"][field])
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    assert body["detail"].startswith(f"{field}: "), body
    assert Dataset.objects.count() == 0
    assert stored_files(media_root) == []


def image_bytes(pixels: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    """An encoded image of `pixels`: (h, w) grayscale or (h, w, 3|4) uint8."""
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode=mode).save(buffer, format=fmt)
    return buffer.getvalue()


def solid(value, size=(8, 8), channels: int | None = 3) -> bytes:
    """A PNG of one colour (`value` 0-255), RGB by default, grayscale with channels=None."""
    shape = (size[1], size[0]) if channels is None else (size[1], size[0], channels)
    return image_bytes(np.full(shape, value, dtype=np.uint8))


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npz_bytes(compressed: bool = False, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def stripes(n_per_class: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """RGB images of horizontal or vertical stripes (random phase, tint and noise), and their
    classes: two sets a small CNN tells apart at a glance, a linear model on pixels cannot."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in ("horizontal", "vertical"):
        for _ in range(n_per_class):
            phase = rng.integers(4)
            wave = ((np.arange(size) + phase) // 2) % 2  # 2 pixels on, 2 off
            grid = (
                np.tile(wave[:, None], (1, size))
                if label == "horizontal"
                else np.tile(wave, (size, 1))
            )
            tint = rng.uniform(0.5, 1.0, size=3)
            pixels = grid[..., None] * tint * 200 + rng.normal(0, 20, (size, size, 3)) + 30
            images.append(np.clip(pixels, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.array(labels)


def class_folders(images: np.ndarray, labels, root: str = "shapes/") -> bytes:
    """A ZIP of `images` as PNG files in one folder per label under `root`."""
    return zip_bytes(
        {
            f"{root}{label}/{i}.png": image_bytes(image)
            for i, (image, label) in enumerate(zip(images, labels, strict=True))
        }
    )
