"""The block reader re-reads only the block pyarrow refused, row by row, to name the line;
the blocks around it stay pyarrow's."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from downhill.datasets import csv_blocks, schema
from downhill.datasets.schema import DatasetFileError


@pytest.fixture
def blocks_read(monkeypatch):
    """How many blocks went to pyarrow and how many to the row reader (each still read by
    the real code)."""
    seen = {"pyarrow": 0, "rows": 0}
    by_arrow, by_rows = csv_blocks.add_table, csv_blocks._read_by_rows

    def add_table(*args, **kwargs):
        seen["pyarrow"] += 1
        return by_arrow(*args, **kwargs)

    def read_by_rows(*args, **kwargs):
        seen["rows"] += 1
        return by_rows(*args, **kwargs)

    monkeypatch.setattr(csv_blocks, "add_table", add_table)
    monkeypatch.setattr(csv_blocks, "_read_by_rows", read_by_rows)
    monkeypatch.setattr(csv_blocks, "BLOCK_BYTES", 4096)
    return seen


def lines(n: int) -> list[bytes]:
    return [b"x,label\n"] + [f"{i * 0.25},{'ab'[i % 2]}\n".encode() for i in range(n)]


def test_a_ragged_row_deep_in_the_file_is_named_by_re_reading_its_block_alone(blocks_read):
    content = lines(20_000)
    content[15_000] = b"7,a,extra\n"

    with pytest.raises(DatasetFileError, match=r"^Line 15001: expected 2 fields like the header"):
        schema.read_csv_schema(io.BytesIO(b"".join(content)))
    assert blocks_read["rows"] == 1
    assert blocks_read["pyarrow"] > 30  # about 150 kB before the line, in blocks of 4 kB


def test_quoted_fields_are_read_by_pyarrow_when_every_quote_is_in_its_place(blocks_read):
    content = lines(20_000)
    content[10_000] = b'"7.5","multi\nline, ""quoted"""\n'  # a line end, a delimiter, quotes
    content[10_001] = b'"","a"\r\n'
    data = b"".join(content)

    read = schema.read_csv_schema(io.BytesIO(data))
    assert read == schema.read_csv_schema_by_rows(io.BytesIO(data))
    assert read.n_rows == 20_000
    assert blocks_read["rows"] == 0


def test_values_with_line_ends_in_them_are_not_cut_between_blocks(blocks_read):
    content = lines(1) + [f'{i},"line {i}\nand ""more"""\n'.encode() for i in range(5000)]
    data = b"".join(content)

    read = schema.read_csv_schema(io.BytesIO(data))
    assert read == schema.read_csv_schema_by_rows(io.BytesIO(data))
    assert read.n_rows == 5001
    assert blocks_read["rows"] == 0
    assert blocks_read["pyarrow"] > 20


# Quotes the csv module reads otherwise than pyarrow would: their block goes to the row reader.
ODD_QUOTES = [
    b'7,a"b\n',  # a quote inside a plain value: text
    b'"7"x,a\n',  # text after a closing quote: an error (strict)
    b'"7" ,a\n',  # a space after it
    b' "7",a\n',  # a space before an opening one: a plain value
    b'"7,a\n',  # a quote left open: an error at the end of the file
    b'"""",a\n',  # one quote, quoted
    b'"7","a\r\nb"\n',  # CRLF inside a quoted value
]


@pytest.mark.parametrize("line", ODD_QUOTES)
def test_odd_quotes_read_as_the_row_reader_reads_them(blocks_read, line):
    content = lines(3000)
    content[2000] = line
    data = b"".join(content)

    def outcome(reader):
        try:
            return reader(io.BytesIO(data))
        except DatasetFileError as exc:
            return str(exc)

    assert outcome(schema.read_csv_schema) == outcome(schema.read_csv_schema_by_rows)


def test_a_byte_that_is_not_utf8_is_named_by_its_line(blocks_read):
    content = lines(20_000)
    content[12_345] = b"1.5,\xff\n"

    with pytest.raises(DatasetFileError, match=r"not UTF-8 text \(near line 12346\)"):
        schema.read_csv_schema(io.BytesIO(b"".join(content)))
    assert blocks_read["rows"] == 1


def test_pyarrow_parses_a_number_only_as_float_does():
    """The block reader takes pyarrow's cast where it succeeds, float() elsewhere: the cast
    must never accept what float() refuses, nor give another double (or sign of zero)."""
    rng = np.random.default_rng(2)
    odd = list("0123456789.eE+-_ infINFnaNx")
    texts = ["".join(rng.choice(odd, size=rng.integers(1, 9))) for _ in range(20_000)]
    for _ in range(20_000):  # long mantissas and far exponents: rounding must agree
        digits = "".join(rng.choice(list("0123456789"), size=rng.integers(1, 30)))
        at = int(rng.integers(0, len(digits) + 1))
        texts.append(f"-{digits[:at]}.{digits[at:]}e{rng.integers(-330, 330)}")
    for text in texts:
        try:
            parsed = pc.cast(pa.array([text]), pa.float64())[0].as_py()
        except pa.ArrowInvalid:
            continue
        expected = float(text)  # raises if pyarrow took what float() refuses
        assert (
            math.isnan(parsed)
            and math.isnan(expected)
            or (parsed == expected and math.copysign(1, parsed) == math.copysign(1, expected))
        ), text


class Unseekable(io.RawIOBase):
    """A stream that cannot be read twice (a pipe, say)."""

    def __init__(self, data: bytes):
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self.data.readinto(buffer)


@pytest.mark.parametrize("stream", [io.BytesIO, Unseekable])
def test_numbers_past_the_cap_parsed_as_numbers_then_a_word_count_as_text_counts(
    blocks_read, monkeypatch, stream
):
    """Past DISTINCT_CAP distinct numbers a column's text is no longer counted and pyarrow
    parses it straight to numbers; when a word then makes it categorical, its values are
    counted again from the file (where it can be read again): the same top values, to the
    count, as the row reader's."""
    monkeypatch.setattr(schema, "DISTINCT_CAP", 50)
    recounts = []
    count_again = csv_blocks._count_again
    monkeypatch.setattr(
        csv_blocks, "_count_again", lambda *a: recounts.append(1) or count_again(*a)
    )
    rows = [f"{i % 300 * 0.5},{'ab'[i % 2]}\n".encode() for i in range(3000)]
    data = b"x,label\n" + b"".join(rows) + b"many,a\n" * 3 + b"1.5,b\n"
    by_blocks = schema.read_csv_schema(stream(data))
    by_rows = schema.read_csv_schema_by_rows(io.BytesIO(data))

    assert by_blocks == by_rows
    x = by_blocks.column("x")
    assert x["dtype"] == "categorical" and x["distinct"] == 50 and x["distinct_capped"]
    assert x["top_values"][0] == ["1.5", 11]  # 10 times among the numbers, once after the words
    assert blocks_read["pyarrow"] > 3 and recounts == ([1] if stream is io.BytesIO else [])


def test_an_empty_line_is_a_line_not_a_row_and_later_lines_keep_their_numbers(blocks_read):
    """pyarrow reads an empty line as a row of empty values (a line of delimiters alone is
    one): such a block goes to the row reader, which skips the empty line and counts it."""
    content = lines(20_000)
    content[500] = b"\n"
    content[700] = b"\r\n"
    content[900] = b",\n"  # a row with both values missing
    data = b"".join(content)

    read = schema.read_csv_schema(io.BytesIO(data))
    assert read == schema.read_csv_schema_by_rows(io.BytesIO(data))
    assert read.n_rows == 19_998
    assert 1 <= blocks_read["rows"] <= 3

    content[15_000] = b"7,a,extra\n"
    with pytest.raises(DatasetFileError, match=r"^Line 15001: expected 2 fields"):
        schema.read_csv_schema(io.BytesIO(b"".join(content)))


def test_missing_values_in_every_column_stay_with_pyarrow(blocks_read):
    """An empty value in each column, never all in one row: no row is empty, pyarrow reads
    every block."""
    content = lines(1) + [
        (
            f"{i * 0.25},\n" if i % 3 == 0 else f",{'ab'[i % 2]}\n" if i % 3 == 1 else "1,a\n"
        ).encode()
        for i in range(20_000)
    ]
    data = b"".join(content)

    read = schema.read_csv_schema(io.BytesIO(data))
    assert read == schema.read_csv_schema_by_rows(io.BytesIO(data))
    assert read.column("x")["missing"] == 6_667 and read.column("label")["missing"] == 6_667
    assert blocks_read["rows"] == 0


def test_a_number_as_long_as_the_field_limit_is_the_csv_modules_error(blocks_read, monkeypatch):
    """Past the cap a numeric column is parsed straight to numbers, where no field length is
    seen: a block with a line as long as the csv module's field limit is read as text, and
    the row reader names the line."""
    monkeypatch.setattr(schema, "DISTINCT_CAP", 50)
    limit = csv.field_size_limit(200)
    try:
        content = lines(20_000)
        content[15_000] = b"1" + b"0" * 250 + b",a\n"
        with pytest.raises(DatasetFileError, match=r"^Line 15001: field larger than field limit"):
            schema.read_csv_schema(io.BytesIO(b"".join(content)))
    finally:
        csv.field_size_limit(limit)
    assert blocks_read["rows"] == 1
