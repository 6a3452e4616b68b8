"""A ZIP of images whose pixels (as their headers say) pass DOWNHILL_INLINE_IMAGE_MEGAPIXELS
is decoded on the datasets worker, whatever the ZIP's size: one-colour PNGs compress to
almost nothing and once held a web request for 27.5 s."""

from __future__ import annotations

import pytest

from downhill.datasets.models import Dataset
from tests.datasets.builders import post_bytes, solid, zip_bytes
from workers.tasks import process_dataset

pytestmark = pytest.mark.django_db


def one_colour_zip(side: int) -> bytes:
    return zip_bytes(
        {
            f"shapes/{name}/{i}.png": solid(value, size=(side, side))
            for name, value in (("dark", 20), ("light", 230))
            for i in range(3)
        }
    )


def test_many_pixels_in_a_small_zip_go_to_the_worker(
    api, settings, sent_tasks, django_capture_on_commit_callbacks
):
    settings.DOWNHILL_INLINE_IMAGE_MEGAPIXELS = 1  # six images of 500 x 500: 1.5 megapixels
    content = one_colour_zip(500)
    assert len(content) < settings.DOWNHILL_INLINE_INGEST_MB * 2**20

    with django_capture_on_commit_callbacks(execute=True):
        response = post_bytes(api, content, filename="shapes.zip")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "processing"
    assert [t["name"] for t in sent_tasks] == ["downhill.process_dataset"]
    process_dataset(response.json()["id"])
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "ready", dataset.error
    assert dataset.n_rows == 6 and dataset.details["classes"] == {"dark": 3, "light": 3}


def test_few_pixels_are_still_decoded_in_the_request(api, settings, sent_tasks):
    settings.DOWNHILL_INLINE_IMAGE_MEGAPIXELS = 1
    response = post_bytes(api, one_colour_zip(400), filename="shapes.zip")  # 0.96 megapixels
    assert response.status_code == 201 and response.json()["status"] == "ready"
    assert sent_tasks == []
