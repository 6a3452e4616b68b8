"""Wide tables: more columns than DOWNHILL_MAX_COLUMNS are refused before any value is read,
naming the setting, and a dataset's page stays small for the widest table allowed (its
schema a page of columns at a time, its preview the first columns)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from downhill.datasets.models import Dataset
from tests.conftest import csv_file
from tests.dashboard.builders import make_dataset
from tests.datasets.builders import npz_bytes, post_bytes, stored_files

pytestmark = pytest.mark.django_db


def test_a_csv_wider_than_the_limit_is_refused_naming_the_setting(api, media_root, settings):
    settings.DOWNHILL_MAX_COLUMNS = 50
    rows = [[f"c{i}" for i in range(51)]] + [list(range(51))] * 3
    response = api.post("/api/v1/datasets/", {"file": csv_file(rows)}, format="multipart")

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "51 columns" in detail and "at most 50 (DOWNHILL_MAX_COLUMNS)" in detail
    assert not Dataset.objects.exists() and stored_files(media_root) == []


def test_a_csv_of_100000_columns_is_refused_from_its_header(api, media_root):
    header = ",".join(f"c{i}" for i in range(100_000)).encode()
    response = post_bytes(api, header + b"\n" + b"1," * 99_999 + b"1\n", filename="wide.csv")
    assert response.status_code == 400 and "100,000 columns" in response.json()["detail"]
    assert stored_files(media_root) == []


def test_an_npz_wider_than_the_limit_is_refused(api, media_root, settings):
    settings.DOWNHILL_MAX_COLUMNS = 50
    content = npz_bytes(X=np.zeros((4, 50)), y=np.array([0, 1, 0, 1]))
    response = post_bytes(api, content, filename="wide.npz")
    assert response.status_code == 400 and "DOWNHILL_MAX_COLUMNS" in response.json()["detail"]
    assert stored_files(media_root) == []


def test_the_page_of_the_widest_table_allowed_stays_small(client, user, settings, media_root):
    width = settings.DOWNHILL_MAX_COLUMNS
    histogram = {"edges": [0, 1, 2, 3, 4, 5], "counts": [3, 1, 4, 1, 5], "estimated": False}
    columns = [
        {"name": f"c{i}", "dtype": "numeric", "missing": 0, "distinct": 13, "min": 0.0,
         "max": 12.0, "mean": 6.0, "std": 3.7, "histogram": histogram}
        for i in range(width)
    ]  # fmt: skip
    dataset = make_dataset(user, "wide", columns=columns, target=f"c{width - 1}")
    text = io.StringIO()
    text.write(",".join(c["name"] for c in columns) + "\n")
    for r in range(25):
        text.write(",".join(str((r + i) % 13) for i in range(width)) + "\n")
    (media_root / "datasets").mkdir(parents=True)
    (media_root / dataset.file.name).write_text(text.getvalue())
    client.force_login(user)

    page = client.get(f"/datasets/{dataset.id}/")
    html = page.content.decode()
    assert page.status_code == 200 and len(page.content) < 300_000, len(page.content)
    assert ">c49<" in html and ">c50<" not in html
    assert f"Columns 1–50 of {width:,}".replace(",", "") in html.replace(",", "")
    assert f"{width - 30} more" in html  # the preview's columns past its first 30

    second = client.get(f"/datasets/{dataset.id}/?columns=2").content.decode()
    assert ">c50<" in second and ">c99<" in second and ">c100<" not in second
