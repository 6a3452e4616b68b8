"""The datasets pages: the list with its upload form, a dataset's schema, statistics, histograms
and preview, and its Delete button."""

from __future__ import annotations

import re

import pytest

from downhill.datasets.models import Dataset
from tests.conftest import csv_file, iris_rows
from tests.dashboard.builders import IRIS_COLUMNS, make_dataset, make_run

pytestmark = pytest.mark.django_db


def test_list_shows_only_the_users_datasets_and_the_upload_form(client, user, other_user):
    make_dataset(user, "mine", n_rows=150, size_bytes=4096)
    make_dataset(other_user, "theirs")
    client.force_login(user)
    html = client.get("/datasets/").content.decode()
    assert "mine" in html and "theirs" not in html
    assert 'enctype="multipart/form-data"' in html
    assert '<input type="file" name="file"' in html
    assert 'name="target"' in html
    assert "<progress" in html  # the upload's progress bar
    assert 'data-api-url="/api/v1/datasets/"' in html


def test_upload_through_the_form_opens_the_new_dataset(client, user):
    client.force_login(user)
    response = client.post(
        "/datasets/", {"file": csv_file(iris_rows(), "iris.csv"), "target": "species", "name": ""}
    )
    dataset = Dataset.objects.get()
    assert response.status_code == 302 and response.url == f"/datasets/{dataset.id}/"
    assert (dataset.name, dataset.target, dataset.n_rows) == ("iris", "species", 150)


def test_a_bad_upload_says_why_and_stores_nothing(client, user):
    client.force_login(user)
    response = client.post(
        "/datasets/", {"file": csv_file([["a", "b"], [1, 2]], "x.csv"), "target": "nope"}
    )
    assert response.status_code == 400
    assert "No column named" in response.content.decode()
    assert 'value="nope"' in response.content.decode()  # the form keeps what was typed
    assert not Dataset.objects.exists()


def test_upload_without_a_file_asks_for_one(client, user):
    client.force_login(user)
    response = client.post("/datasets/", {"target": "y"})
    assert response.status_code == 400
    assert "Choose a file to upload." in response.content.decode()


def test_an_upload_over_the_limit_is_refused_with_413(client, user, settings):
    settings.DOWNHILL_MAX_UPLOAD_MB = 0
    client.force_login(user)
    response = client.post("/datasets/", {"file": csv_file(iris_rows(), "iris.csv")})
    assert response.status_code == 413
    assert "the limit is 0 MB" in response.content.decode()


def test_dataset_page_shows_schema_statistics_histograms_and_preview(client, user):
    client.force_login(user)
    client.post("/datasets/", {"file": csv_file(iris_rows(), "iris.csv"), "target": "species"})
    dataset = Dataset.objects.get()
    html = client.get(f"/datasets/{dataset.id}/").content.decode()

    assert "<h1>iris" in html
    assert '<th scope="row">species <span class="tag">target</span></th>' in html
    assert "classification" in html
    assert html.count('<figure class="histogram">') == 4  # the four numeric columns
    assert re.search(r"<rect [^>]*><title>4.3 to [\d.]+: \d+ rows</title></rect>", html)
    assert '<ul class="top-values">' in html and "setosa" in html
    assert "First 20 rows" in html
    assert html.count("<tr><td>") == 20
    assert f'href="/experiments/new/?dataset={dataset.id}"' in html


def test_statistics_read_in_four_digits_with_missing_shares(client, user):
    dataset = make_dataset(user, columns=IRIS_COLUMNS, target="species", n_rows=150)
    client.force_login(user)
    html = client.get(f"/datasets/{dataset.id}/").content.decode()
    assert '<td class="num">3.758</td>' in html and '<td class="num">1.759</td>' in html
    assert '2 <span class="subtle">1.3%</span>' in html


def test_a_failed_dataset_shows_its_error(client, user):
    dataset = make_dataset(user, status=Dataset.Status.FAILED, error="Line 3 has 4 fields, not 5.")
    client.force_login(user)
    html = client.get(f"/datasets/{dataset.id}/").content.decode()
    assert "This dataset could not be read." in html and "Line 3 has 4 fields" in html
    assert "New experiment" not in html.split("</header>")[1]


def test_another_users_dataset_is_not_found(client, user, other_user):
    theirs = make_dataset(other_user, "theirs")
    client.force_login(user)
    assert client.get(f"/datasets/{theirs.id}/").status_code == 404
    assert client.post(f"/datasets/{theirs.id}/delete/").status_code == 404


def test_delete_removes_an_unused_dataset(client, user):
    dataset = make_dataset(user, "old")
    client.force_login(user)
    response = client.post(f"/datasets/{dataset.id}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/datasets/"
    assert "Deleted dataset “old”." in response.content.decode()
    assert not Dataset.objects.exists()


def test_a_dataset_that_experiments_use_cannot_be_deleted(client, user):
    run = make_run(user)
    dataset = run.experiment.dataset
    client.force_login(user)
    html = client.get(f"/datasets/{dataset.id}/").content.decode()
    assert re.search(r'<button class="button button--danger" type="submit" disabled', html)
    response = client.post(f"/datasets/{dataset.id}/delete/", follow=True)
    assert "is used by 1 experiment" in response.content.decode()
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_datasets_pages_need_sign_in(client, user):
    dataset = make_dataset(user)
    for url in ("/datasets/", f"/datasets/{dataset.id}/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_an_image_dataset_shows_its_image_size_and_classes(client, user):
    dataset = make_dataset(
        user,
        "digits",
        format="images",
        columns=[
            {"name": "image", "dtype": "image", "shape": [1, 8, 8], "pixel_scale": 255.0},
            {
                "name": "label",
                "dtype": "categorical",
                "missing": 0,
                "distinct": 2,
                "top_values": [["0", 60], ["1", 40]],
            },
        ],  # fmt: skip
        target="label",
        details={
            "image_shape": [1, 8, 8],
            "color": "grayscale",
            "classes": {"0": 60, "1": 40},
            "resized": 3,
            "root": "digits",
            "pixel_scale": 255.0,
        },  # fmt: skip
    )
    client.force_login(user)
    html = client.get(f"/datasets/{dataset.id}/").content.decode()
    assert "1 × 8 × 8 pixels" in html
    assert '<th scope="row">Classes</th><td>0 (60), 1 (40)</td>' in html
    assert "1 × 8 × 8 (channels × height × width)" in html and "3 images" in html
    assert "pixel_scale" not in html and "First 20 rows" not in html  # no file to preview here


def test_an_image_zip_datasets_page_opens_and_counts_the_files_left_out(client, user, api):
    from tests.datasets.builders import post_bytes, solid, zip_bytes

    archive = zip_bytes(
        {
            **{
                f"shapes/{c}/{i}.png": solid(v)
                for c, v in (("dark", 10), ("light", 240))
                for i in range(3)
            },
            "shapes/dark/Thumbs.db": b"\0",
            "__MACOSX/shapes/dark/._0.png": b"\0",
        }
    )
    uploaded = post_bytes(api, archive, filename="shapes.zip")
    assert uploaded.status_code == 201, uploaded.content
    client.force_login(user)
    page = client.get(f"/datasets/{uploaded.json()['id']}/")
    assert page.status_code == 200
    assert "files that are not images" in page.content.decode()
