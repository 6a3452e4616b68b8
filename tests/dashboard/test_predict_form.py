"""The run page's predict form (POST /runs/{id}/predict/ of the dashboard): CSV rows pasted
or uploaded, predictions as a table and as CSV, problems named as the API names them."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import csv_file, iris_rows

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "sepal_length,sepal_width,petal_length,petal_width"


@pytest.fixture
def iris_run(train_upload):
    return train_upload(csv_file(iris_rows()).getvalue(), "iris.csv", epochs=20, seed=1)


def post(client, run, **data):
    client.force_login(run.experiment.owner)
    return client.post(f"/runs/{run.id}/predict/", data)


def test_pasted_rows_come_back_as_a_table_and_as_csv(client, iris_run):
    text = f"{HEADER}\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,\n"  # an empty cell is a missing value
    html = post(client, iris_run, rows=text).content.decode()
    assert 'data-field="predictions"' in html and "probability_setosa" in html
    response = post(client, iris_run, rows=text, download="csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2 and rows[0]["prediction"] == "setosa" and rows[1]["petal_width"] == ""


def test_an_uploaded_file_is_read_and_a_bad_row_named(client, iris_run):
    upload = SimpleUploadedFile("x.csv", f"{HEADER}\n5.1,3.5,1.4,0.2\n5,3,x,1\n".encode())
    html = post(client, iris_run, file=upload).content.decode()
    assert "rows[1].petal_length" in html and "is not a number" in html
    assert 'data-field="predictions"' not in html


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "Paste CSV rows"),
        (f"{HEADER}\n", "no rows"),
        (f"{HEADER}\n1,2,3\n", "Line 2 has 3 values; the header has 4."),
        ("sepal_length,colour\n1,red\n", "unknown column"),
    ],
)
def test_unreadable_input_is_said(client, iris_run, text, said):
    assert said in post(client, iris_run, rows=text).content.decode()


def test_a_run_without_a_model_says_so(client, user):
    from tests.dashboard.builders import make_run

    run = make_run(user)
    client.force_login(user)
    html = client.post(f"/runs/{run.id}/predict/", {"rows": f"{HEADER}\n1,2,3,4\n"}).content
    assert b"has no trained model" in html
