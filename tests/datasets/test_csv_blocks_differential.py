"""The block reader (pyarrow) against the row reader it replaced, over generated hostile and
edge-case CSVs: the same columns, statistics, row counts and hashes to the bit, or the same
error message. Blocks, chunks, the distinct cap and the csv field limit are made small so
that a few hundred rows cross each of them many times."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest

from downhill.datasets import csv_blocks, schema
from downhill.datasets.schema import DatasetFileError

CASES = 600
UTF8_MESSAGE = re.compile(r"^The file is not UTF-8 text \(near line (\d+)\)")


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    monkeypatch.setattr(csv_blocks, "BLOCK_BYTES", 512)
    monkeypatch.setattr(csv_blocks, "PARSE_BLOCK_BYTES", 128)
    monkeypatch.setattr(schema, "CHUNK_ROWS", 16)
    monkeypatch.setattr(schema, "CHUNK_NUMBERS", 0)  # 16 rows a chunk, however narrow
    monkeypatch.setattr(schema, "READ_LINES", 7)
    monkeypatch.setattr(schema, "DISTINCT_CAP", 12)
    monkeypatch.setattr(schema, "SNIFF_BYTES", 256)
    limit = csv.field_size_limit(60)
    yield
    csv.field_size_limit(limit)


NUMBERS = ["0", "7", "-3", "2.5", "1e3", ".5", "+4", "1_000", "\u0661\u0662", "1e400", "-0"]
WORDS = ["red", "blue", "NA", "", "?", "None", "null", "nan", "N/A", "inf", "x y", "é", "NaN"]
PADDED = [" 5 ", "\t6", "\u00a07", "8\u3000", "\x1c9", "\x85red", " NA "]


def _value(rng: np.random.Generator, kind: int, delimiter: str, quoting: float) -> str:
    """A value of a column of kind 0 (numbers), 1 (numbers, some missing) or 2 (mixed)."""
    roll = rng.random()
    if kind == 0 or (kind == 1 and roll < 0.8):
        if rng.random() < 0.1:
            return str(rng.choice(NUMBERS))
        return (
            f"{rng.normal() * 10:.{rng.integers(0, 4)}f}"
            if rng.random() < 0.5
            else str(rng.integers(0, 30))
        )
    if kind == 1:
        return str(rng.choice(["", "NA", "nan", "?"]))
    pool = WORDS + PADDED + NUMBERS
    value = str(rng.choice(pool)) + (str(rng.integers(0, 40)) if rng.random() < 0.3 else "")
    if rng.random() < quoting:
        value = (
            '"' + value.replace('"', '""') + delimiter + 'x""y\nz"'
        )  # quoted: delimiter, quote, LF
    return value


def _hostile(rng: np.random.Generator, line: str, delimiter: str) -> str:
    """Now and then, a line made wrong or odd."""
    roll = rng.random()
    if roll < 0.004:
        return line + delimiter + "extra"
    if roll < 0.008:
        return line.split(delimiter)[0]
    if roll < 0.010:
        return line + "\x00"
    if roll < 0.012:
        return '"' + line  # a quote left open
    if roll < 0.014:
        return line + '"x"y'  # a stray quote, and text after a closing one
    if roll < 0.016:
        return line + "z" * 70  # past the field limit
    if roll < 0.02:
        return "   "  # a blank line of spaces
    if roll < 0.025:
        return ""
    return line


def generate(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    delimiter = str(rng.choice(list(",;\t|")))
    width = int(rng.integers(1, 6))
    kinds = rng.integers(0, 3, size=width)
    names = [f"col{i}" for i in range(width)]
    if rng.random() < 0.05:
        names[-1] = names[0]  # duplicated
    end = str(rng.choice(["\n", "\r\n", "\n", "\r"], p=[0.6, 0.25, 0.1, 0.05]))
    # Some files clean (every block for pyarrow), some with a rare oddity, some hostile.
    hostility, quoting = rng.choice([0.0, 0.05, 0.5]), rng.choice([0.0, 0.002, 0.1])
    lines = [delimiter.join(names)]
    for _ in range(int(rng.integers(0, 300))):
        line = delimiter.join(_value(rng, k, delimiter, quoting) for k in kinds)
        lines.append(_hostile(rng, line, delimiter) if rng.random() < hostility else line)
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    data = text.encode("utf-8")
    if rng.random() < 0.1:
        data = b"\xef\xbb\xbf" + data
    if rng.random() < 0.05 and len(data) > 10:  # a byte that is not UTF-8
        at = int(rng.integers(len(data) // 2, len(data)))
        data = data[:at] + b"\xff" + data[at:]
    return data


def outcome(reader, data: bytes):
    try:
        result = reader(io.BytesIO(data))
    except DatasetFileError as exc:
        return str(exc)
    return result


def test_whitespace_is_what_str_strip_takes_off():
    assert set(csv_blocks.WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


@pytest.mark.parametrize("first", range(0, CASES, 100))
def test_block_reader_agrees_with_row_reader(first):
    disagreements = []
    for seed in range(first, first + 100):
        data = generate(seed)
        old = outcome(schema.read_csv_schema_by_rows, data)
        new = outcome(schema.read_csv_schema, data)
        if old == new:
            continue
        # The row reader decodes 8 KiB ahead of the rows: a byte that is not UTF-8 stops it
        # "near" a line up to 8 KiB before it, unread lines after that line unchecked. The
        # block reader reads every line before that byte first: it names the line that holds
        # the byte, or an error on a line before it; never a line before the row reader's.
        old_utf8 = UTF8_MESSAGE.match(old) if isinstance(old, str) else None
        new_line = re.match(r"^(?:Line |The file is not UTF-8 text \(near line )(\d+)", str(new))
        if old_utf8 and new_line and int(old_utf8[1]) <= int(new_line[1]):
            continue
        disagreements.append((seed, old, new))
    assert not disagreements, disagreements[:3]
