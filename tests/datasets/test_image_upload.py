"""POST /api/v1/datasets/ with a ZIP of images in one folder per class: a ready image
dataset (classes from the folder names, one common size and colour), its decoded pixels
stored next to the upload for the worker."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from downhill.datasets.models import Dataset
from tests.datasets.builders import (
    URL,
    class_folders,
    image_bytes,
    post_bytes,
    solid,
    stored_files,
    stripes,
    zip_bytes,
)

pytestmark = pytest.mark.django_db


def stored_arrays(dataset_id: int) -> dict[str, np.ndarray]:
    dataset = Dataset.objects.get(pk=dataset_id)
    with dataset.arrays.open("rb") as f, np.load(f, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def test_a_zip_of_class_folders_becomes_an_image_classification_dataset(api, media_root):
    images, labels = stripes(5)
    content = class_folders(images, labels, root="data/train/")
    response = post_bytes(api, content, filename="stripes.zip")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["format"] == "images" and body["status"] == "ready"
    assert body["name"] == "stripes"
    assert body["n_rows"] == 10
    assert body["target"] == "label" and body["task"] == "classification"
    assert body["size_bytes"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    image, label = body["columns"]
    assert image == {
        "name": "image", "dtype": "image", "shape": [3, 16, 16], "pixel_scale": 255.0, "missing": 0,
    }  # fmt: skip
    assert label["name"] == "label" and label["dtype"] == "categorical"
    assert label["distinct"] == 2 and label["distinct_capped"] is False
    assert sorted(label["top_values"]) == [["horizontal", 5], ["vertical", 5]]
    dataset = Dataset.objects.get(pk=body["id"])
    assert dataset.details["classes"] == {"horizontal": 5, "vertical": 5}
    assert dataset.details["root"] == "data/train/"
    assert dataset.details["image_shape"] == [3, 16, 16]
    assert len(stored_files(media_root)) == 2  # the upload and its decoded pixels


def test_the_decoded_pixels_are_stored_as_uint8_with_a_class_per_image(api):
    images, labels = stripes(3)
    body = post_bytes(api, class_folders(images, labels), filename="s.zip").json()

    arrays = stored_arrays(body["id"])
    assert arrays["X"].dtype == np.uint8 and arrays["X"].shape == (6, 16, 16, 3)
    # Sorted by member name: shapes/horizontal/0.png ... shapes/vertical/5.png
    assert arrays["y"].tolist() == ["horizontal"] * 3 + ["vertical"] * 3
    np.testing.assert_array_equal(arrays["X"], images)  # PNG is lossless, no resize


def test_images_are_resized_to_the_most_common_size(api):
    members = {f"c/a/{i}.png": solid(10, (12, 8)) for i in range(3)}
    members |= {"c/b/0.png": solid(200, (30, 30)), "c/b/1.png": solid(200, (12, 8))}
    body = post_bytes(api, zip_bytes(members), filename="sizes.zip").json()

    assert body["columns"][0]["shape"] == [3, 8, 12]  # (channels, height, width)
    dataset = Dataset.objects.get(pk=body["id"])
    assert dataset.details["resized"] == 1
    assert dataset.details["source_sizes"] == [["12×8", 4], ["30×30", 1]]
    assert stored_arrays(body["id"])["X"].shape == (5, 8, 12, 3)


def test_the_common_size_is_scaled_down_to_the_longest_side_keeping_its_aspect(api, settings):
    settings.DOWNHILL_IMAGE_MAX_SIDE = 16
    members = {
        f"c/{cls}/{i}.png": solid(v, (64, 32))
        for cls, v in (("a", 0), ("b", 255))
        for i in range(2)
    }
    body = post_bytes(api, zip_bytes(members), filename="big.zip").json()

    assert body["columns"][0]["shape"] == [3, 8, 16]
    x = stored_arrays(body["id"])["X"]
    assert x[0].max() == 0 and x[-1].min() == 255  # a solid colour stays solid


def test_grayscale_images_keep_one_channel(api):
    members = {
        f"g/{cls}/{i}.png": solid(v, channels=None)
        for cls, v in (("dark", 20), ("light", 230))
        for i in range(2)
    }
    body = post_bytes(api, zip_bytes(members), filename="gray.zip").json()

    assert body["columns"][0]["shape"] == [1, 8, 8]
    assert Dataset.objects.get(pk=body["id"]).details["color"] == "grayscale"
    assert stored_arrays(body["id"])["X"][:, 0, 0, 0].tolist() == [20, 20, 230, 230]


def test_one_colour_image_makes_every_image_rgb(api):
    members = {"g/dark/0.png": solid(20, channels=None), "g/light/0.png": solid(230, channels=None)}
    members["g/light/1.png"] = image_bytes(np.full((8, 8, 3), (255, 0, 0)))
    body = post_bytes(api, zip_bytes(members), filename="mixed.zip").json()

    assert body["columns"][0]["shape"] == [3, 8, 8]
    x = stored_arrays(body["id"])["X"]
    assert x[0, 0, 0].tolist() == [20, 20, 20]  # gray spread over three channels
    assert x[2, 0, 0].tolist() == [255, 0, 0]


def test_jpeg_and_transparent_png_images_are_read(api):
    transparent = np.zeros((8, 8, 4), dtype=np.uint8)
    transparent[..., 0] = 255  # red, but fully transparent: laid on black
    members = {
        "p/a/photo.JPG": image_bytes(np.full((8, 8, 3), 128), fmt="JPEG"),
        "p/a/icon.png": image_bytes(transparent),
        "p/b/1.jpeg": image_bytes(np.full((8, 8, 3), 250), fmt="JPEG"),
    }
    body = post_bytes(api, zip_bytes(members), filename="photos.zip").json()

    assert body["n_rows"] == 3, body
    x = stored_arrays(body["id"])["X"]
    assert x[0].max() == 0  # p/a/icon.png sorts first
    assert abs(int(x[1].mean()) - 128) <= 2  # JPEG is lossy


def test_macos_and_windows_clutter_is_skipped(api):
    members = {
        "f/a/1.png": solid(0), "f/b/1.png": solid(255),
        "__MACOSX/f/a/._1.png": b"\x00\x05\x16\x07", "f/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "f/a/Thumbs.db": b"\xd0\xcf\x11\xe0", "f/b/._1.png": b"junk",
    }  # fmt: skip
    body = post_bytes(api, zip_bytes(members), filename="clutter.zip").json()

    assert body["n_rows"] == 2, body
    assert Dataset.objects.get(pk=body["id"]).details["ignored_members"] == 4


def test_class_folders_may_sit_at_the_top_of_the_archive(api):
    members = {"cats/1.png": solid(0), "dogs/1.png": solid(255), "dogs/2.png": solid(250)}
    body = post_bytes(api, zip_bytes(members), filename="pets.zip").json()

    assert body["columns"][1]["top_values"] == [["dogs", 2], ["cats", 1]]


def test_a_zip_without_the_zip_extension_is_recognised_by_its_bytes(api):
    members = {"cats/1.png": solid(0), "dogs/1.png": solid(255)}
    response = post_bytes(api, zip_bytes(members), filename="upload.bin")

    assert response.status_code == 201, response.content
    assert response.json()["format"] == "images"


def test_the_target_of_an_image_dataset_cannot_be_the_image_column(api, media_root):
    from tests.datasets.builders import assert_refused

    members = {"cats/1.png": solid(0), "dogs/1.png": solid(255)}
    response = post_bytes(api, zip_bytes(members), filename="pets.zip", target="image")
    assert_refused(response, "target", "holds the images", media_root=media_root)


def test_preview_names_each_image_by_its_file_in_the_archive(api):
    images, labels = stripes(2)
    body = post_bytes(api, class_folders(images, labels), filename="s.zip").json()

    preview = api.get(f"{URL}{body['id']}/preview/?rows=3").json()
    assert preview == {
        "columns": ["image", "label"],
        "rows": [
            ["shapes/horizontal/0.png", "horizontal"],
            ["shapes/horizontal/1.png", "horizontal"],
            ["shapes/vertical/2.png", "vertical"],
        ],
    }


def test_deleting_an_image_dataset_removes_the_upload_and_its_pixels(
    api, media_root, django_capture_on_commit_callbacks
):
    members = {"cats/1.png": solid(0), "dogs/1.png": solid(255)}
    dataset = post_bytes(api, zip_bytes(members), filename="pets.zip").json()["id"]
    assert len(stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}{dataset}/").status_code == 204
    assert stored_files(media_root) == []


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits(api):
    from PIL import Image

    def png16(value: int) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(np.full((4, 4), value, dtype=np.uint16)).save(buffer, format="PNG")
        return buffer.getvalue()

    members = {
        "d/dark/0.png": png16(0),
        "d/light/0.png": png16(65535),
        "d/light/1.png": png16(32896),
    }
    body = post_bytes(api, zip_bytes(members), filename="deep.zip").json()

    assert body["columns"][0]["shape"] == [1, 4, 4]
    assert stored_arrays(body["id"])["X"][:, 0, 0, 0].tolist() == [0, 255, 128]


def test_a_jpeg_turned_by_its_exif_orientation_is_read_upright(api):
    from PIL import Image

    def jpeg(width: int, height: int, orientation: int) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (200, 200, 200)).save(buffer, format="JPEG", exif=exif)
        return buffer.getvalue()

    members = {"p/a/0.jpg": jpeg(8, 4, 1), "p/a/1.jpg": jpeg(8, 4, 1), "p/b/0.jpg": jpeg(4, 8, 6)}
    body = post_bytes(api, zip_bytes(members), filename="photos.zip").json()

    assert body["columns"][0]["shape"] == [3, 4, 8]
    assert Dataset.objects.get(pk=body["id"]).details["resized"] == 0  # stored 4×8, upright 8×4


def test_a_jpeg_whose_header_runs_past_the_first_read_is_read_whole(api):
    """The size pass inflates a member's first HEADER_BYTES only; a JPEG with a large colour
    profile (APP2 blocks before its size and after its EXIF orientation) is read whole."""
    from PIL import Image

    from downhill.datasets.images import HEADER_BYTES

    def jpeg(width: int, height: int, orientation: int = 1, icc: bytes | None = None) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        extra = {"icc_profile": icc} if icc else {}
        Image.new("RGB", (width, height), (90, 90, 90)).save(buffer, "JPEG", exif=exif, **extra)
        return buffer.getvalue()

    turned = jpeg(8, 4, orientation=6, icc=np.random.default_rng(0).bytes(200_000))  # upright 4×8
    assert len(turned) > HEADER_BYTES
    members = {"p/a/0.jpg": jpeg(4, 8), "p/a/1.jpg": jpeg(4, 8), "p/b/0.jpg": turned}
    response = post_bytes(api, zip_bytes(members), filename="profiles.zip")
    assert response.status_code == 201, response.content
    body = response.json()

    assert body["columns"][0]["shape"] == [3, 8, 4]
    assert Dataset.objects.get(pk=body["id"]).details["resized"] == 0
