"""The CSV reader splits plain chunks with str.split and parses quoted ones in one csv call; it
must give what reading row by row gave: the same statistics, the same errors on the same line."""

from __future__ import annotations

import io

import numpy as np
import pytest

from downhill.datasets import schema
from downhill.datasets.schema import DatasetFileError


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Many chunks and a reachable cap from a few thousand rows."""
    monkeypatch.setattr(schema, "CHUNK_ROWS", 64)
    monkeypatch.setattr(schema, "CHUNK_NUMBERS", 0)  # 64 rows a chunk, however narrow
    monkeypatch.setattr(schema, "DISTINCT_CAP", 50)


def columns_of(content: bytes) -> list[dict]:
    return schema.read_csv_schema(io.BytesIO(content)).columns


def sample_rows(n: int) -> list[list[str]]:
    rng = np.random.default_rng(3)
    return [
        [f"{rng.normal():.4f}", str(rng.integers(0, 9)), ["red", "NA", "blue", ""][i % 4]]
        for i in range(n)
    ]


def test_blank_lines_quotes_and_crlf_leave_the_statistics_unchanged_to_the_last_bit():
    rows = sample_rows(3000)
    plain = "x,n,colour\n" + "".join(",".join(row) + "\n" for row in rows)
    messy_lines = ["x,n,colour\n"]
    for i, (x, n, colour) in enumerate(rows):
        if i % 97 == 0:
            messy_lines.append("\n")  # a blank line: a line that is not a row
        line = f'{x},{n},"{colour}"' if i % 5 == 0 else f"{x},{n},{colour}"
        messy_lines.append(line + ("\r\n" if i % 7 == 0 else "\n"))

    # The rows reach the summaries in the same batches, so mean and std agree exactly.
    assert columns_of("".join(messy_lines).encode()) == columns_of(plain.encode())


def plain_file(n_rows: int) -> list[bytes]:
    return [b"x,y\n"] + [f"{i}.5,{i % 3}\n".encode() for i in range(n_rows)]


@pytest.mark.parametrize(
    "bad_line, message",
    [
        (b"7\n", r"^Line 20001: expected 2 fields like the header, found 1\.$"),
        (b"7,8,9\n", r"^Line 20001: expected 2 fields like the header, found 3\.$"),
        (b"7,\x00\n", r"^Line 20001: the file holds NUL bytes"),
        (b'7,"8"9\n', r"^Line 20001: ',' expected after '\"'\.$"),
        (b"7," + b"8" * 200_000 + b"\n", r"^Line 20001: field larger than field limit"),
    ],
    ids=["too few", "too many", "NUL byte", "quote", "field limit"],
)
def test_a_bad_row_on_a_late_line_is_named_after_many_plain_chunks(bad_line, message):
    lines = plain_file(20_000)  # over 64 KiB: past the sample read for the delimiter
    lines.insert(20_000, bad_line)

    with pytest.raises(DatasetFileError, match=message):
        columns_of(b"".join(lines))


def test_a_ragged_row_before_bytes_that_are_not_utf8_is_the_error_named():
    lines = plain_file(20_000)
    lines[18_000] = b"7\n"  # a few chunks before, and more than the 8 KiB decoded at a time
    lines.append("8,caf\xe9\n".encode("latin-1"))

    with pytest.raises(DatasetFileError, match=r"^Line 18001: expected 2 fields"):
        columns_of(b"".join(lines))


def test_a_quoted_field_running_across_chunks_is_one_value():
    lines = [b"note,y\n"] + [f"n{i % 3},{i % 2}\n".encode() for i in range(200)]
    lines[63] = b'"first\nsecond\nthird",1\n'  # opens in one chunk of 64 lines, ends in the next

    described = {c["name"]: c for c in columns_of(b"".join(lines))}

    assert dict(map(tuple, described["note"]["top_values"]))["first\nsecond\nthird"] == 1


def test_quoted_values_lose_tabs_around_them_in_a_tab_separated_file():
    content = "a\tb\n" + "".join(f'{i}\t"\tx{i % 3}"\n' for i in range(300))

    described = {c["name"]: c for c in columns_of(content.encode())}

    assert sorted(v for v, _ in described["b"]["top_values"]) == ["x0", "x1", "x2"]


def test_a_numeric_column_with_more_distinct_values_than_the_cap_is_capped_and_estimated():
    # The first chunk holds exactly as many distinct values as the cap; new ones come later.
    values = [f"{i % 50}.5" for i in range(64)] + [f"{i / 7:.4f}" for i in range(64, 3000)]
    content = "x,y\n" + "".join(f"{x},{i % 2}\n" for i, x in enumerate(values))

    x = columns_of(content.encode())[0]

    assert (x["dtype"], x["distinct"], x["distinct_capped"]) == ("numeric", 50, True)
    assert x["histogram"]["estimated"] is True
    assert sum(x["histogram"]["counts"]) == pytest.approx(3000, abs=20)


def test_a_numeric_column_with_as_many_distinct_values_as_the_cap_is_counted_exactly():
    content = "x,y\n" + "".join(f"{i % 50}.5,{i % 2}\n" for i in range(3000))

    x = columns_of(content.encode())[0]

    assert (x["distinct"], x["distinct_capped"], x["histogram"]["estimated"]) == (50, False, False)
    assert sum(x["histogram"]["counts"]) == 3000
