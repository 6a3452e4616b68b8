"""POST /api/v1/datasets/: a CSV becomes a ready dataset with a schema, or a 400 that names
the problem and leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import statistics

import pytest

from downhill.datasets.models import Dataset
from tests.conftest import csv_file, diabetes_rows, iris_rows
from tests.datasets.builders import URL, assert_refused, post_bytes, stored_files

pytestmark = pytest.mark.django_db

# --- happy path ---------------------------------------------------------------------------


def test_upload_of_iris_is_ready_with_schema_and_classification_target(upload, media_root):
    response = upload(iris_rows(), name="iris.csv")

    assert response.status_code == 201, response.content
    body = response.json()
    for key in ("id", "name", "status", "error", "format", "size_bytes", "sha256", "n_rows",
                "columns", "target", "task", "created_at"):  # fmt: skip
        assert key in body
    assert body["status"] == "ready"
    assert body["error"] == ""
    assert body["format"] == "csv"
    assert body["name"] == "iris"
    assert body["n_rows"] == 150
    assert [c["name"] for c in body["columns"]] == [
        "sepal_length", "sepal_width", "petal_length", "petal_width", "species",
    ]  # fmt: skip
    assert body["target"] == "species"
    assert body["task"] == "classification"
    dataset = Dataset.objects.get(pk=body["id"])
    assert dataset.status == Dataset.Status.READY
    assert len(stored_files(media_root)) == 1


def test_upload_records_size_and_sha256_of_the_exact_bytes(api, media_root):
    content = csv_file(iris_rows()).getvalue()
    body = post_bytes(api, content).json()

    assert body["size_bytes"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    (stored,) = stored_files(media_root)
    assert stored.read_bytes() == content


def test_upload_describes_numeric_column_with_stats_and_missing_count(api):
    rows = [["x", "label"], ["1", "a"], ["2", "b"], ["NA", "a"], ["4", "b"], ["", "a"], ["8", "b"]]
    body = post_bytes(api, csv_file(rows).getvalue()).json()

    x = body["columns"][0]
    assert x["dtype"] == "numeric"
    assert x["missing"] == 2
    assert x["distinct"] == 4
    assert x["integer"] is True
    assert x["min"] == 1
    assert x["max"] == 8
    assert x["mean"] == pytest.approx(statistics.mean([1, 2, 4, 8]))
    assert x["std"] == pytest.approx(statistics.pstdev([1, 2, 4, 8]), rel=0.2)


def test_upload_describes_text_column_as_categorical_with_top_values(api):
    rows = [["x", "colour"]] + [
        [i, c] for i, c in enumerate(["red"] * 5 + ["blue"] * 3 + ["green"])
    ]
    body = post_bytes(api, csv_file(rows).getvalue()).json()

    colour = body["columns"][1]
    assert colour["dtype"] == "categorical"
    assert colour["distinct"] == 3
    assert colour["top_values"][0] == ["red", 5]
    assert colour["top_values"][1] == ["blue", 3]


def test_upload_infers_regression_for_a_float_target(upload):
    body = upload(diabetes_rows(), name="diabetes.csv").json()

    assert body["target"] == "progression"
    assert body["task"] == "regression"
    assert body["n_rows"] == 442


def test_upload_infers_classification_for_few_distinct_integers(upload):
    rows = [["a", "b", "grade"]] + [[i * 0.5, i % 7, i % 3] for i in range(60)]
    body = upload(rows).json()

    assert body["columns"][2]["dtype"] == "numeric"
    assert body["task"] == "classification"


def test_upload_infers_regression_for_integers_with_many_distinct_values(upload):
    rows = [["a", "price"]] + [[i, 1000 + 37 * i] for i in range(100)]
    body = upload(rows).json()

    assert body["task"] == "regression"


def test_upload_infers_regression_for_non_integer_floats_with_few_distinct_values(upload):
    rows = [["a", "y"]] + [[i, [0.5, 1.5, 2.25][i % 3]] for i in range(60)]
    body = upload(rows).json()

    assert body["task"] == "regression"


def test_upload_uses_the_named_target_column_and_its_task(upload):
    body = upload(iris_rows(), target="sepal_length").json()

    assert body["target"] == "sepal_length"
    assert body["task"] == "regression"


def test_upload_uses_the_given_name_over_the_file_name(api):
    content = csv_file(iris_rows()).getvalue()
    body = post_bytes(api, content, filename="flowers.csv", name="  My iris ").json()

    assert body["name"] == "My iris"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_upload_detects_the_delimiter(api, delimiter):
    content = csv_file(iris_rows(), delimiter=delimiter).getvalue()
    response = post_bytes(api, content)

    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["columns"]) == 5
    assert body["columns"][0]["dtype"] == "numeric"
    assert body["target"] == "species"
    assert Dataset.objects.get(pk=body["id"]).delimiter == delimiter


def test_upload_detects_semicolon_in_a_two_line_file_without_final_newline(api):
    response = post_bytes(api, b"x;y;label\n1;2;a\n3;4;b")

    assert response.status_code == 201, response.content
    assert [c["name"] for c in response.json()["columns"]] == ["x", "y", "label"]


def test_upload_strips_a_utf8_byte_order_mark_from_the_first_column_name(api):
    content = b"\xef\xbb\xbf" + csv_file(iris_rows()).getvalue()
    response = post_bytes(api, content)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["columns"][0]["name"] == "sepal_length"
    assert body["size_bytes"] == len(content)


def test_upload_reads_non_ascii_utf8_text(api):
    content = "ville,température,climat\nZürich,9.3,tempéré\nSão Paulo,19.2,subtropical\n".encode()
    body = post_bytes(api, content).json()

    assert [c["name"] for c in body["columns"]] == ["ville", "température", "climat"]
    assert ["tempéré", 1] in body["columns"][2]["top_values"]


def test_upload_accepts_crlf_line_endings_and_skips_blank_lines(api):
    content = b"x,y,label\r\n1,2,a\r\n\r\n3,4,b\r\n5,6,a\r\n\r\n"
    body = post_bytes(api, content).json()

    assert body["n_rows"] == 3
    assert [c["name"] for c in body["columns"]] == ["x", "y", "label"]


def test_upload_of_a_file_larger_than_the_in_memory_limit_is_read_in_full(api, media_root):
    # Over 2.5 MB, Django spools the upload to a temporary file: a different file object.
    rows = [["a", "b", "y"]] + [[i, i * 0.25, i % 5] for i in range(200_000)]
    content = csv_file(rows).getvalue()
    assert len(content) > 2.5 * 1024 * 1024
    body = post_bytes(api, content).json()

    assert body["n_rows"] == 200_000
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["task"] == "classification"
    (stored,) = stored_files(media_root)
    assert stored.stat().st_size == len(content)


# --- refusals -----------------------------------------------------------------------------


def test_upload_refuses_an_empty_file(api, media_root):
    assert_refused(post_bytes(api, b""), "file", "empty", media_root=media_root)


def test_upload_refuses_a_file_of_blank_lines(api, media_root):
    assert_refused(post_bytes(api, b"\n \n\r\n"), "file", "empty", media_root=media_root)


def test_upload_refuses_a_header_without_data_rows(api, media_root):
    response = post_bytes(api, b"x,y,label\n")
    assert_refused(response, "file", "no data rows", media_root=media_root)


def test_upload_refuses_a_file_whose_first_line_is_numbers(api, media_root):
    response = post_bytes(api, b"5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n")
    assert_refused(response, "file", "header", "line 1", media_root=media_root)


def test_upload_refuses_a_headerless_file_whose_label_column_is_text(api, media_root):
    # iris.data as the UCI repository ships it: no header, numbers then a class name.
    content = b"".join(",".join(map(str, row)).encode() + b"\n" for row in iris_rows()[1:])
    response = post_bytes(api, content)
    assert_refused(response, "file", "header", media_root=media_root)


def test_upload_refuses_a_row_with_too_many_fields_naming_the_line(api, media_root):
    response = post_bytes(api, b"x,y,label\n1,2,a\n3,4,b\n5,6,7,a\n7,8,b\n")
    assert_refused(response, "file", "line 4", "expected 3", "found 4", media_root=media_root)


def test_upload_refuses_a_row_with_too_few_fields_naming_the_line_past_blank_lines(api, media_root):
    response = post_bytes(api, b"x,y,label\n1,2,a\n\n3,4,b\n5,a\n")
    assert_refused(response, "file", "line 5", "found 2", media_root=media_root)


def test_upload_refuses_a_ragged_row_deep_in_a_large_file(api, media_root):
    rows = [["a", "b", "y"]] + [[i, i * 0.5, i % 3] for i in range(20_000)]
    content = csv_file(rows).getvalue() + b"1,2\n"
    response = post_bytes(api, content)
    assert_refused(response, "file", "line 20002", media_root=media_root)


def test_upload_refuses_an_unknown_target_column_listing_the_columns(upload, media_root):
    response = upload(iris_rows(), target="colour")
    assert_refused(response, "target", "colour", "sepal_length", "species", media_root=media_root)


def test_upload_refuses_duplicate_column_names_naming_the_column(api, media_root):
    response = post_bytes(api, b"x,y,x,label\n1,2,3,a\n4,5,6,b\n")
    assert_refused(response, "file", "'x'", "twice", media_root=media_root)


def test_upload_refuses_an_empty_column_name(api, media_root):
    response = post_bytes(api, b"x,,label\n1,2,a\n4,5,b\n")
    assert_refused(response, "file", "column 2", media_root=media_root)


def test_upload_refuses_a_single_column(api, media_root):
    response = post_bytes(api, b"label\na\nb\na\n")
    assert_refused(response, "file", "two columns", media_root=media_root)


def test_upload_refuses_latin1_text(api, media_root):
    content = "ville,température,climat\nZürich,9.3,tempéré\n".encode("latin-1")
    assert_refused(post_bytes(api, content), "file", "UTF-8", media_root=media_root)


def test_upload_refuses_latin1_text_past_the_sampled_head(api, media_root):
    rows = [["a", "b", "y"]] + [[i, i * 0.5, i % 3] for i in range(10_000)]
    content = csv_file(rows).getvalue() + "1,2,caf\xe9\n".encode("latin-1") + b"3,4,1\n"
    assert len(content) > 64 * 1024
    assert_refused(post_bytes(api, content), "file", "UTF-8", media_root=media_root)


def test_upload_refusing_latin1_at_the_end_of_a_small_file_points_at_the_right_place(
    api, media_root
):
    # The only bad byte is on line 2; "near line 1" sends the user to the wrong line.
    response = post_bytes(api, "x,label\n1,caf\xe9\n".encode("latin-1"))
    assert_refused(response, "file", "UTF-8", media_root=media_root)
    message = response.json()["errors"]["file"][0]
    assert "line 2" in message or "byte 14" in message, message


def test_upload_refuses_binary_garbage_with_nul_bytes(api, media_root):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4
    assert_refused(
        post_bytes(api, png, filename="photo.csv"), "file", "binary", media_root=media_root
    )


def test_upload_refuses_binary_garbage_without_nul_bytes(api, media_root):
    garbage = bytes(range(128, 256)) * 8
    assert_refused(post_bytes(api, garbage), "file", "UTF-8", media_root=media_root)


def test_upload_refuses_a_field_beyond_the_csv_field_limit_naming_the_line(api, media_root):
    content = b"x,label\n1,a\n2," + b"b" * 200_000 + b"\n"
    assert_refused(post_bytes(api, content), "file", "line 3", media_root=media_root)


def test_upload_refuses_a_request_without_a_file_field(api, media_root):
    response = api.post(URL, {"name": "nothing"}, format="multipart")
    assert_refused(response, "file", "required", media_root=media_root)


def test_upload_refuses_a_name_longer_than_200_characters(api, media_root):
    response = post_bytes(api, csv_file(iris_rows()).getvalue(), name="n" * 201)
    assert_refused(response, "name", "200", media_root=media_root)


def test_upload_refuses_a_file_over_the_size_limit_before_reading_it(api, settings, media_root):
    settings.DOWNHILL_MAX_UPLOAD_MB = 0
    response = post_bytes(api, csv_file(iris_rows()).getvalue())
    assert response.status_code == 413
    assert (
        response.json()["detail"].startswith("file: The upload is")
        and "limit is 0 MB" in response.json()["detail"]
    )
    assert Dataset.objects.count() == 0 and stored_files(media_root) == []


def test_upload_refuses_a_name_sent_as_a_file(api, media_root):
    name_file = io.BytesIO(b"not text")
    name_file.name = "name.txt"
    data = io.BytesIO(csv_file(iris_rows()).getvalue())
    data.name = "iris.csv"
    response = api.post(URL, {"file": data, "name": name_file}, format="multipart")
    # The file field named `name` is not text: the name falls back to the file's.
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "iris"


def test_upload_of_a_file_with_a_very_long_name_is_stored_under_a_generated_one(api, media_root):
    response = post_bytes(api, csv_file(iris_rows()).getvalue(), filename="é" * 150 + ".csv")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "é" * 150
    (stored,) = stored_files(media_root)
    assert len(stored.name) < 60


def test_upload_refuses_nul_bytes_past_the_first_64_kb(api, media_root):
    rows = "a,b\n" + "1,2\n" * 20_000 + "3,\x00\n"
    assert_refused(post_bytes(api, rows.encode()), "file", "NUL", media_root=media_root)


def test_upload_refuses_an_unclosed_quote_naming_the_line(api, media_root):
    content = b'a,b\n1,"x\n2,z\n3,y\n'
    assert_refused(post_bytes(api, content), "file", "line", media_root=media_root)


def test_upload_refuses_a_column_name_longer_than_200_characters(api, media_root):
    content = ("x," + "t" * 201 + "\n1,2\n3,4\n").encode()
    assert_refused(post_bytes(api, content), "file", "longer than 200", media_root=media_root)


def test_numeric_columns_carry_an_exact_histogram_and_text_columns_their_top_values(
    api, media_root
):
    rows = [["x", "colour", "y"]] + [[i % 10, "rgb"[i % 3], i] for i in range(100)]
    body = api.post(URL, {"file": csv_file(rows)}, format="multipart").json()
    x, colour, _ = body["columns"]
    assert x["histogram"]["counts"][0] == 10 and sum(x["histogram"]["counts"]) == 100
    assert x["histogram"]["edges"][0] == 0 and x["histogram"]["edges"][-1] == 9
    assert x["histogram"]["estimated"] is False
    assert [value for value, _ in colour["top_values"]] == ["r", "g", "b"]


def test_preview_shows_the_first_rows_as_the_file_holds_them(api, media_root):
    dataset = api.post(URL, {"file": csv_file(iris_rows())}, format="multipart").json()["id"]
    preview = api.get(f"{URL}{dataset}/preview/?rows=3").json()
    assert preview["columns"][-1] == "species"
    assert preview["rows"] == [[str(v) for v in row] for row in iris_rows()[1:4]]
    assert api.get(f"{URL}{dataset}/preview/?rows=0").status_code == 400


def test_a_dataset_whose_stored_file_is_gone_has_no_preview_but_its_page_shows(
    api, client, user, media_root
):
    dataset = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    for stored in stored_files(media_root):
        stored.unlink()

    response = api.get(f"{URL}{dataset}/preview/")
    assert response.status_code == 400
    assert f"The stored file of dataset {dataset} cannot be read" in response.json()["detail"]
    client.force_login(user)
    page = client.get(f"/datasets/{dataset}/")
    assert page.status_code == 200 and page.context["preview"] is None


def test_preview_reads_only_the_head_of_the_file_and_shows_whole_rows(api, monkeypatch):
    import downhill.datasets.selectors as selectors

    rows = [["note", "y"]] + [[f'"line {i}\nand more"', i % 2] for i in range(200)]
    content = "\n".join(",".join(map(str, row)) for row in rows).encode() + b"\n"
    dataset = post_bytes(api, content, "notes.csv").json()["id"]
    monkeypatch.setattr(selectors, "PREVIEW_MAX_BYTES", 100)  # cuts inside a quoted field

    preview = api.get(f"{URL}{dataset}/preview/?rows=20").json()
    assert preview["columns"] == ["note", "y"]
    assert preview["rows"] == [[f"line {i}\nand more", str(i % 2)] for i in range(4)]
