"""Parquet uploads: read a batch of rows at a time, every column turned into the text a CSV
would hold (numbers in their shortest form, null as a missing value) and summarised by the
CSV block reader's code, so a Parquet table and the same table as a CSV get the same schema,
statistics and task.

Columns of lists, structs, maps or raw bytes have no text form to train on: refused, named.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import csv_blocks, schema
from .schema import ColumnSummary, DatasetFileError, RowSink, check_column_count

BATCH_ROWS = 65_536  # a few MB of values at a time, whatever a row group holds


def open_parquet(file: BinaryIO) -> pq.ParquetFile:
    try:
        parquet = pq.ParquetFile(file)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetFileError(f"The file is not a valid Parquet file ({exc}).") from exc
    names = parquet.schema_arrow.names
    check_column_count(len(names), where="The Parquet file")
    for position, (name, kind) in enumerate(
        zip(names, parquet.schema_arrow.types, strict=True), start=1
    ):
        if not name.strip():
            raise DatasetFileError(f"Column {position} has an empty name.")
        if names.count(name) > 1:
            raise DatasetFileError(f"The column name '{name}' appears twice.")
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise DatasetFileError(
                f"Column '{name}' holds {kind}: a column must hold numbers or text."
            )
    return parquet


def text_columns(batch: pa.RecordBatch) -> list[pa.ChunkedArray]:
    """Each column as the text a CSV of it would hold; '' for null (a missing value)."""
    return [
        _text(name, column) for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]


def _text(name: str, column: pa.Array) -> pa.ChunkedArray:
    try:
        text = pc.cast(column, pa.string())
    except pa.ArrowException as exc:  # a type with no text form (an interval, say)
        raise DatasetFileError(
            f"Column '{name}' holds {column.type}, which has no text form: a column must hold "
            "numbers or text."
        ) from exc
    return pa.chunked_array([pc.fill_null(text, "")])


def _batches(parquet: pq.ParquetFile):
    try:
        yield from parquet.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetFileError(f"The Parquet file cannot be read ({exc}).") from exc


def read_parquet_schema(file: BinaryIO, size: int, sha256: str) -> schema.CsvSchema:
    """Summarise every column of a Parquet file. Raises DatasetFileError."""
    parquet = open_parquet(file)
    names = [name.strip() for name in parquet.schema_arrow.names]
    summaries = [ColumnSummary(name) for name in names]
    sink = RowSink(summaries, lines_read=0)
    for batch in _batches(parquet):
        csv_blocks.add_table(sink, text_columns(batch), batch.num_rows, lines=0)
    sink.end_chunk()
    for summary in summaries:
        csv_blocks.add_tally(summary)
    return schema.finish_schema(names, summaries, ",", sink.n_rows, size, sha256)


def read_parquet_table(file: BinaryIO, columns: list[dict]) -> dict[str, np.ndarray]:
    """The columns for training, as workers.tables reads a CSV: numeric ones as float64 with
    NaN where a value is missing, the others as text (stripped) with None."""
    parquet = open_parquet(file)
    parts: list[list[np.ndarray]] = [[] for _ in columns]
    for batch in _batches(parquet):
        for part, column, text in zip(parts, columns, text_columns(batch), strict=True):
            values = pc.utf8_trim(text, csv_blocks.WHITESPACE)
            missing = pc.is_in(values, value_set=csv_blocks.MISSING_VALUES)
            present = pc.if_else(missing, None, values)
            if column["dtype"] == "numeric":
                part.append(_numbers(present))
            else:
                part.append(np.array(present.to_pylist(), dtype=object))
    return {
        column["name"]: np.concatenate(part) if part else np.empty(0)
        for column, part in zip(columns, parts, strict=True)
    }


def _numbers(present: pa.ChunkedArray) -> np.ndarray:
    try:
        return pc.cast(present, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # float() takes a few spellings pyarrow's cast does not
        values = present.to_pylist()
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
