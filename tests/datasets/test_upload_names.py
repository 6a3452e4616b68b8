"""An upload's own file name never reaches a path: the stored file has a generated name in
the datasets folder, and the dataset's default name is the cleaned last part of it."""

from __future__ import annotations

import pytest

from downhill.datasets.filenames import upload_stem
from downhill.datasets.models import Dataset
from tests.conftest import csv_file, iris_rows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("../../etc/passwd.csv", "passwd"),
        ("C:\\Users\\ada\\..\\..\\iris.csv", "iris"),
        ("..\\..\\secret.csv", "secret"),
        ("iris\u202evsc.exe.csv", "irisvsc.exe"),
        ("line\nbreak\ttab.csv", "linebreaktab"),
        ("....hidden.csv", "hidden"),
        ("../.csv", "csv"),
    ],
)
def test_an_uploaded_file_name_becomes_a_clean_name_and_no_path(api, media_root, filename, name):
    upload = csv_file(iris_rows(), name=filename)
    response = api.post("/api/v1/datasets/", {"file": upload}, format="multipart")

    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.name == name
    stored = (media_root / dataset.file.name).resolve()
    assert stored.is_file() and stored.is_relative_to((media_root / "datasets").resolve())
    assert stored.stem not in filename and len(stored.stem) == 32  # generated


def test_the_stem_is_cut_to_the_length_given():
    assert upload_stem("a" * 300 + ".csv", max_length=200) == "a" * 200
