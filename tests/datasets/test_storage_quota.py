"""The bytes of datasets one user may store (DOWNHILL_MAX_STORED_MB): past it an upload gets
413 saying the limit and what is left, and nothing is stored."""

from __future__ import annotations

import pytest

from downhill.datasets.models import Dataset
from tests.conftest import csv_file, iris_rows
from tests.datasets.builders import stored_files

pytestmark = pytest.mark.django_db


def test_uploads_past_the_users_stored_bytes_are_refused_with_413(
    api, user, other_user, media_root, settings
):
    settings.DOWNHILL_MAX_STORED_MB = 1
    Dataset.objects.create(owner=user, name="big", size_bytes=2**20 - 1000)
    Dataset.objects.create(owner=other_user, name="theirs", size_bytes=2**20)  # not counted

    refused = api.post("/api/v1/datasets/", {"file": csv_file(iris_rows())}, format="multipart")

    assert refused.status_code == 413
    detail = refused.json()["detail"]
    assert "DOWNHILL_MAX_STORED_MB" in detail and "0.0 MB are left" in detail
    assert stored_files(media_root) == [] and Dataset.objects.count() == 2

    Dataset.objects.filter(name="big").delete()
    accepted = api.post("/api/v1/datasets/", {"file": csv_file(iris_rows())}, format="multipart")
    assert accepted.status_code == 201
