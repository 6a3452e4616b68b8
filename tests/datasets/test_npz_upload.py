"""POST /api/v1/datasets/ with an NPZ (arrays X and y): a table (X of n × d) or a set of
images (X of n × h × w [× c]), or a 400 naming the problem that leaves nothing behind."""

from __future__ import annotations

import io
import statistics
import zipfile

import numpy as np
import pytest

from downhill.datasets.models import Dataset
from tests.datasets.builders import URL, assert_refused, npz_bytes, post_bytes, stored_files

pytestmark = pytest.mark.django_db


def upload_npz(api, filename="data.npz", **arrays):
    return post_bytes(api, npz_bytes(**arrays), filename=filename)


def refused(api, media_root, content: bytes, *fragments: str):
    response = post_bytes(api, content, filename="data.npz")
    assert_refused(response, "file", *fragments, media_root=media_root)


# --- tables ---------------------------------------------------------------------------------


def test_a_table_npz_becomes_numeric_columns_and_a_target(api, media_root):
    x = np.array([[1.0, 10], [2, 20], [4, 40], [8, 80]], dtype=np.float32)
    y = np.array(["a", "b", "a", "b"])
    response = upload_npz(api, X=x, y=y)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["format"] == "npz" and body["status"] == "ready"
    assert body["n_rows"] == 4
    assert [c["name"] for c in body["columns"]] == ["x0", "x1", "y"]
    assert body["target"] == "y" and body["task"] == "classification"
    x0 = body["columns"][0]
    assert x0["dtype"] == "numeric" and x0["integer"] is True and x0["missing"] == 0
    assert (x0["min"], x0["max"]) == (1, 8)
    assert x0["mean"] == pytest.approx(statistics.mean([1, 2, 4, 8]))
    assert x0["std"] == pytest.approx(statistics.pstdev([1, 2, 4, 8]))
    assert sum(x0["histogram"]["counts"]) == 4 and x0["histogram"]["estimated"] is False
    assert body["columns"][2]["top_values"] == [["a", 2], ["b", 2]]
    details = Dataset.objects.get(pk=body["id"]).details
    assert details["kind"] == "table" and details["x_shape"] == [4, 2]
    assert len(stored_files(media_root)) == 1  # the upload is what the worker reads


def test_the_npz_column_stats_match_those_of_the_same_data_as_csv(api):
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(50, 1)), 3)
    y = rng.normal(size=50)
    from_npz = upload_npz(api, X=x, y=y).json()["columns"]
    csv = "x0,y\n" + "".join(
        f"{a},{b}\n" for a, b in zip(x[:, 0].tolist(), y.tolist(), strict=True)
    )
    from_csv = post_bytes(api, csv.encode()).json()["columns"]

    for a, b in zip(from_npz, from_csv, strict=True):
        assert a.keys() == b.keys()
        for key in ("distinct", "integer", "min", "max", "missing"):
            assert a[key] == b[key], key
        assert a["mean"] == pytest.approx(b["mean"]) and a["std"] == pytest.approx(b["std"])
        assert a["histogram"]["counts"] == b["histogram"]["counts"]


def test_a_numeric_y_follows_the_task_rule(api):
    x = np.arange(40, dtype=float).reshape(20, 2)
    assert upload_npz(api, X=x, y=np.arange(20) % 3).json()["task"] == "classification"
    assert upload_npz(api, X=x, y=np.linspace(0, 1, 20)).json()["task"] == "regression"


def test_a_y_of_shape_n_by_1_and_extra_arrays_are_accepted(api):
    x = np.zeros((4, 2))
    body = upload_npz(api, X=x, y=np.array([[0], [1], [0], [1]]), names=np.array(["a", "b"])).json()

    assert body["n_rows"] == 4
    assert Dataset.objects.get(pk=body["id"]).details["ignored_arrays"] == ["names.npy"]


def test_an_npz_is_recognised_without_its_extension(api):
    response = post_bytes(api, npz_bytes(X=np.zeros((2, 1)), y=np.array([0, 1])), filename="blob")
    assert response.json()["format"] == "npz"


def test_preview_of_a_table_npz_shows_its_first_rows_as_text(api):
    x = np.array([[0.5, 1], [1.5, 2], [2.5, 3]], dtype=np.float32)
    body = upload_npz(api, X=x, y=np.array(["a", "b", "c"])).json()

    preview = api.get(f"{URL}{body['id']}/preview/?rows=2").json()
    assert preview == {
        "columns": ["x0", "x1", "y"],
        "rows": [["0.5", "1.0", "a"], ["1.5", "2.0", "b"]],
    }


# --- images ---------------------------------------------------------------------------------


def test_an_npz_of_grayscale_images_becomes_an_image_dataset(api):
    x = np.zeros((6, 5, 7), dtype=np.uint8)
    body = upload_npz(api, X=x, y=np.array([0, 1] * 3)).json()

    assert body["format"] == "npz"
    image, y = body["columns"]
    assert image == {
        "name": "image",
        "dtype": "image",
        "shape": [1, 5, 7],
        "pixel_scale": 255.0,
        "missing": 0,
    }
    assert y["name"] == "y" and body["target"] == "y" and body["task"] == "classification"
    assert Dataset.objects.get(pk=body["id"]).details["kind"] == "images"


def test_an_npz_of_rgb_images_keeps_its_channels_last(api):
    x = np.full((4, 6, 6, 3), 0.5, dtype=np.float32)
    body = upload_npz(api, X=x, y=np.array(["cat", "dog"] * 2)).json()

    assert body["columns"][0]["shape"] == [3, 6, 6]
    assert body["columns"][0]["pixel_scale"] == 1.0  # already fractions


def test_preview_of_an_image_npz_names_each_image_by_its_index(api):
    body = upload_npz(api, X=np.zeros((3, 4, 4)), y=np.array(["a", "b", "a"])).json()

    preview = api.get(f"{URL}{body['id']}/preview/?rows=2").json()
    assert preview == {"columns": ["image", "y"], "rows": [["X[0]", "a"], ["X[1]", "b"]]}


# --- refusals -------------------------------------------------------------------------------


def test_a_pickled_object_array_is_refused_without_unpickling_it(api, media_root):
    class Boom:
        def __reduce__(self):  # unpickling it would call this
            return (pytest.fail, ("the upload was unpickled",))

    content = npz_bytes(X=np.array([[Boom()]], dtype=object), y=np.array([1]))
    refused(api, media_root, content, "array X", "Python objects", "pickle")


@pytest.mark.parametrize(
    ("arrays", "fragments"),
    [
        ({"X": np.zeros((3, 2))}, ("no array named y", "It holds: X")),
        ({"features": np.zeros((3, 2)), "labels": np.zeros(3)}, ("no array named X or y",)),
        ({"X": np.zeros((3, 2)), "y": np.zeros(2)}, ("X has 3 rows but y has 2",)),
        ({"X": np.zeros(3), "y": np.zeros(3)}, ("shape (3,)", "rows × features")),
        ({"X": np.zeros((2, 2, 2, 2, 2)), "y": np.zeros(2)}, ("shape (2, 2, 2, 2, 2)",)),
        ({"X": np.zeros((2, 3, 8, 8)), "y": np.zeros(2)}, ("channels last", "transpose(0, 2, 3, 1)")),
        ({"X": np.zeros((2, 2)), "y": np.zeros((2, 2))}, ("y has shape (2, 2)",)),
        ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, ("array X has dtype <U1", "real numbers")),
        ({"X": np.zeros((1, 2), dtype=complex), "y": np.zeros(1)}, ("complex128",)),
        ({"X": np.array([[1.0, 2.0], [3.0, np.nan]]), "y": np.zeros(2)}, ("X[1, 1] is nan",)),
        ({"X": np.array([[1.0, -np.inf]]), "y": np.zeros(1)}, ("X[0, 1] is -inf",)),
        ({"X": np.zeros((3, 4, 4)), "y": np.array([0.0, np.inf, 1.0])}, ("y[1] is inf",)),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, ("no rows",)),
        ({"X": np.zeros((3, 0)), "y": np.zeros(3)}, ("holds nothing",)),
        ({"X": np.zeros((2, 1)), "y": np.array(["a", "  "])}, ("y[1] is an empty label",)),
        ({"X": np.full((2, 4, 4), 300.0), "y": np.zeros(2)}, ("pixel values from 300", "0 to 255")),
        ({"X": np.full((2, 4, 4), -1), "y": np.zeros(2)}, ("pixel values from -1",)),
    ],
    ids=[
        "no-y", "neither", "length-mismatch", "1-d", "5-d", "channels-first", "y-2-d", "text-x",
        "complex-x", "nan", "inf", "inf-y", "no-rows", "no-columns", "empty-label",
        "pixels-over-255", "negative-pixels",
    ],
)  # fmt: skip
def test_an_npz_that_cannot_be_a_dataset_is_refused_naming_the_problem(
    api, media_root, arrays, fragments
):
    refused(api, media_root, npz_bytes(**arrays), *fragments)


def test_an_array_header_declaring_more_data_than_its_member_holds_is_refused(api, media_root):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )  # 8 TB, which NumPy would try to allocate before reading
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", header.getvalue() + b"\x00" * 64)
        archive.writestr("y.npy", npz_member(np.zeros(8)))
    refused(
        api, media_root, buffer.getvalue(), "array X declares 8,000,000,000,000 bytes", "corrupt"
    )


def npz_member(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_single_npy_file_is_refused_with_how_to_make_an_npz(api, media_root):
    refused(api, media_root, npz_member(np.zeros(3)), "single .npy", "np.savez")


def test_an_npz_extension_on_other_bytes_is_refused(api, media_root):
    refused(api, media_root, b"x,y\n1,2\n", "not a valid NPZ file")


def test_an_npz_over_the_in_memory_limit_is_read_from_its_temporary_file(api, media_root):
    # Over 2.5 MB, Django spools the upload to a temporary file: a different file object.
    x = np.random.default_rng(0).normal(size=(50_000, 8))
    content = npz_bytes(X=x, y=np.arange(50_000) % 2)
    assert len(content) > 2.5 * 1024 * 1024
    body = post_bytes(api, content, filename="big.npz").json()

    assert body["n_rows"] == 50_000
    assert body["columns"][3]["mean"] == pytest.approx(x[:, 3].mean())
    (stored,) = stored_files(media_root)
    assert stored.read_bytes() == content
