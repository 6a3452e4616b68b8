"""The form of a large upload, read by streamed_form.py instead of Django's parser: the same
fields and file as Django gives, and a 400 that says what is wrong with nothing kept."""

from __future__ import annotations

import hashlib

import pytest

from downhill.datasets.models import Dataset
from tests.conftest import csv_file, iris_rows
from tests.datasets.builders import URL, stored_files

pytestmark = pytest.mark.django_db

BOUNDARY = "b0undary"
CONTENT = csv_file(iris_rows()).getvalue()


@pytest.fixture(autouse=True)
def streamed(settings):
    """Every upload is "large", so every one is read as it arrives."""
    settings.DOWNHILL_INLINE_INGEST_MB = 0


def part(name: str, value: bytes, filename: str | None = None, *headers: str) -> bytes:
    disposition = f'form-data; name="{name}"' + (
        f'; filename="{filename}"' if filename is not None else ""
    )
    lines = [f"--{BOUNDARY}", f"Content-Disposition: {disposition}", *headers, "", ""]
    return "\r\n".join(lines).encode() + value + b"\r\n"


def post_form(api, *parts: bytes, preamble: bytes = b"", epilogue: bytes = b""):
    body = preamble + b"".join(parts) + f"--{BOUNDARY}--\r\n".encode() + epilogue
    return api.generic("POST", URL, body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


def test_fields_before_and_after_the_file_a_preamble_and_an_epilogue(api, media_root):
    response = post_form(
        api,
        part("target", b"species"),
        part("file", CONTENT, "folder/iris.csv", "Content-Type: text/csv"),
        part("name", "Ïris ✓".encode()),
        preamble=b"This is a multipart body.\r\n",
        epilogue=b"\r\nignored",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["target"], body["size_bytes"]) == ("Ïris ✓", "species", len(CONTENT))
    assert body["status"] == "processing" and body["receiving"] is False
    (stored,) = stored_files(media_root)
    assert stored.read_bytes() == CONTENT and stored.suffix == ".csv"


def test_the_first_file_named_file_is_the_dataset_and_other_files_are_read_past(api, media_root):
    other = b"x,y\n1,2\n"
    response = post_form(
        api,
        part("notes", b"not a dataset", "notes.txt"),
        part("file", CONTENT, "iris.csv"),
        part("file", other, "second.csv"),
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "iris"
    assert [p.read_bytes() for p in stored_files(media_root)] == [CONTENT]


def test_a_file_part_holding_the_boundary_text_inside_a_line_keeps_it(api, media_root):
    content = CONTENT + f"note,--{BOUNDARY}\r\n".encode()  # not after a line end: data
    response = post_form(api, part("file", content, "iris.csv"))
    assert response.status_code == 201, response.content
    (stored,) = stored_files(media_root)
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(content).digest()


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            [part("file", CONTENT, "iris.csv", "Content-Transfer-Encoding: base64")],
            "a part has a Content-Transfer-Encoding",
        ),
        ([part("", b"x")], "a part has no Content-Disposition: form-data with a name"),
        ([part("name", b"\xff\xfe")], "the text field 'name' is not UTF-8"),
        ([b"--" + BOUNDARY.encode() + b"\r\nno colon here\r\n\r\nx\r\n"], "has no colon"),
    ],
)
def test_a_malformed_form_is_a_400_naming_the_problem_and_nothing_is_kept(
    api, media_root, parts, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # a dataset's files go after it
        response = post_form(api, *parts)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert stored_files(media_root) == [] and not Dataset.objects.exists()


def test_a_body_cut_before_its_closing_boundary_is_a_400_and_nothing_is_kept(
    api, media_root, django_capture_on_commit_callbacks
):
    body = part("file", CONTENT, "iris.csv")[:-200]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.generic(
            "POST", URL, body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
        )
    assert response.status_code == 400, response.content
    assert "the body ended before its closing boundary" in response.json()["detail"]
    assert stored_files(media_root) == [] and not Dataset.objects.exists()


def test_more_fields_than_django_allows_is_a_400(
    api, media_root, settings, django_capture_on_commit_callbacks
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    fields = [part(f"f{i}", b"v") for i in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(api, part("file", CONTENT, "iris.csv"), *fields)
    assert response.status_code == 400, response.content
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]
    assert stored_files(media_root) == [] and not Dataset.objects.exists()


def test_a_file_whose_name_is_unusable_is_not_taken(api, media_root):
    response = post_form(api, part("file", CONTENT, ".."))
    assert response.status_code == 400, response.content
    assert "is required" in response.json()["detail"]
    assert stored_files(media_root) == [] and not Dataset.objects.exists()
