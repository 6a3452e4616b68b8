"""Parquet uploads: the same table as a Parquet file and as a CSV gets the same schema,
statistics and task, inline and on the datasets worker; it previews and trains; a file that
is not Parquet, or a column with no text form, is refused naming it."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from downhill.datasets.parquet import text_columns
from downhill.datasets.schema import DatasetFileError
from tests.conftest import csv_file, iris_rows
from tests.datasets.builders import URL, assert_refused, post_bytes
from tests.datasets.test_background_ingest import inline_and_in_background

pytestmark = pytest.mark.django_db


def parquet_bytes(table: pa.Table, **options) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return out.getvalue()


def iris_table() -> pa.Table:
    header, *rows = iris_rows()
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array([float(v) for v in c]) for c in columns[:-1]] + [pa.array(columns[-1])]
    return pa.table(arrays, names=header)


def mixed_table() -> pa.Table:
    """Nulls, NaN, integers, booleans, dates and text, over several row groups."""
    n = 300
    return pa.table(
        {
            "count": pa.array([None if i % 17 == 0 else i % 9 for i in range(n)], pa.int64()),
            "ratio": pa.array([float("nan") if i % 23 == 0 else i / 7 for i in range(n)]),
            "flag": pa.array([i % 3 == 0 for i in range(n)]),
            "day": pa.array([f"2026-01-{1 + i % 28:02d}" for i in range(n)], pa.string()).cast(
                pa.date32()
            ),
            "city": pa.array([None if i % 11 == 0 else f"c{i % 5}" for i in range(n)]),
            "label": pa.array(["yes" if i % 2 else "no" for i in range(n)]),
        }
    )


def as_csv(table: pa.Table) -> bytes:
    """The CSV the Parquet file stands for: its values as pyarrow writes text, '' for null."""
    columns = [
        [("" if v is None else str(v)) for v in pa.compute.cast(c, pa.string()).to_pylist()]
        for c in table.columns
    ]
    return csv_file([table.column_names, *zip(*columns, strict=True)]).getvalue()


def test_a_parquet_table_gets_the_schema_of_the_same_table_as_a_csv(api):
    table = mixed_table()
    parquet = post_bytes(api, parquet_bytes(table, row_group_size=64), "mixed.parquet").json()
    csv = post_bytes(api, as_csv(table), "mixed.csv").json()

    assert parquet["status"] == "ready", parquet
    assert parquet["format"] == "parquet"
    for key in ("n_rows", "columns", "target", "task"):
        assert parquet[key] == csv[key], key
    by_name = {c["name"]: c for c in parquet["columns"]}
    assert by_name["count"]["missing"] == 18 and by_name["count"]["dtype"] == "numeric"
    assert by_name["ratio"]["missing"] == 14  # NaN is a missing value, as in a CSV
    assert by_name["flag"]["dtype"] == "categorical"


def test_a_parquet_file_read_by_the_worker_is_ready_like_an_inline_one(api, settings):
    content = parquet_bytes(mixed_table(), row_group_size=50)
    inline, background = inline_and_in_background(api, settings, content, "mixed.parquet")

    assert background["status"] == "ready", background
    for key in ("format", "n_rows", "columns", "target", "task", "sha256", "size_bytes"):
        assert background[key] == inline.json()[key], key


def test_a_parquet_dataset_previews_its_first_rows_as_text(api):
    body = post_bytes(api, parquet_bytes(mixed_table()), "mixed.parquet").json()
    preview = api.get(f"{URL}{body['id']}/preview/").json()

    assert preview["columns"] == ["count", "ratio", "flag", "day", "city", "label"]
    assert preview["rows"][0] == ["", "nan", "true", "2026-01-01", "", "no"]
    assert preview["rows"][1] == ["1", "0.14285714285714285", "false", "2026-01-02", "c1", "yes"]


def test_a_file_named_parquet_that_is_not_one_is_refused(api, media_root):
    response = post_bytes(api, csv_file(iris_rows()).getvalue(), "iris.parquet")
    assert_refused(response, "file", "not a valid Parquet file", media_root=media_root)


def test_a_truncated_parquet_file_is_refused(api, media_root):
    content = parquet_bytes(iris_table())
    response = post_bytes(api, content[: len(content) // 2], "iris.parquet")
    assert_refused(response, "file", "not a valid Parquet file", media_root=media_root)


def test_a_column_of_lists_is_refused_naming_it(api, media_root):
    table = pa.table({"x": [[1, 2], [3]], "y": ["a", "b"]})
    response = post_bytes(api, parquet_bytes(table), "lists.parquet")
    assert_refused(response, "file", "Column 'x' holds list", media_root=media_root)


@pytest.mark.django_db(transaction=True)
def test_a_parquet_upload_trains_like_its_csv(api, train_upload):
    run = train_upload(parquet_bytes(iris_table()), "iris.parquet", epochs=20, seed=1)
    run.refresh_from_db()

    assert run.summary["val_accuracy"] >= 0.9


def test_a_parquet_file_wider_than_the_column_limit_is_refused(api, settings, media_root):
    settings.DOWNHILL_MAX_COLUMNS = 5
    response = post_bytes(api, parquet_bytes(mixed_table()), "mixed.parquet")
    assert_refused(response, "file", "has 6 columns", "DOWNHILL_MAX_COLUMNS", media_root=media_root)


def test_a_column_with_no_text_form_is_refused_naming_it():
    # Parquet cannot hold intervals; a type another writer adds may be as foreign.
    interval = pa.array([(1, 2, 3)], pa.month_day_nano_interval())
    batch = pa.record_batch({"every": interval, "y": ["a"]})
    with pytest.raises(DatasetFileError, match="Column 'every' holds month_day_nano_interval"):
        text_columns(batch)
