"""Reading an uploaded CSV once, as a stream: validate its shape and infer a schema.

Pure Python (no Django, no pandas): the file is read line by line, so memory stays bounded by
the per-column summaries, never by the file size.

Task rule (documented in README): a target column is `classification` when its values are
text, or when they are all integers with at most CLASSIFICATION_MAX_INTEGER_CLASSES distinct
values (and fewer distinct values than half the rows); otherwise `regression`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
CLASSIFICATION_MAX_INTEGER_CLASSES = 20
DISTINCT_CAP = 10_000  # beyond this many distinct values a column's counts stop growing
TOP_VALUES = 10
HISTOGRAM_BINS = 20
HISTOGRAM_SAMPLE = 10_000
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"


class DatasetFileError(ValueError):
    """The file cannot become a dataset; the message names the line or column."""


def is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING_TOKENS


def parse_number(value: str) -> float | None:
    """A finite float, or None when the text is not a number."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass
class ColumnSummary:
    name: str
    missing: int = 0
    numeric: bool = True
    integer: bool = True
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0  # Welford's running sum of squared deviations
    minimum: float = math.inf
    maximum: float = -math.inf
    counts: Counter = field(default_factory=Counter)
    distinct_capped: bool = False
    # A uniform sample of the numbers (reservoir), for the histogram of a column with more
    # distinct values than `counts` keeps; exact counts serve every other column.
    sample: list = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def add(self, raw: str) -> None:
        if "\x00" in raw:
            raise DatasetFileError("The file holds NUL bytes: it is binary, not a CSV text file.")
        value = raw.strip()
        if value.lower() in MISSING_TOKENS:
            self.missing += 1
            return
        if value in self.counts:
            self.counts[value] += 1
        elif len(self.counts) < DISTINCT_CAP:
            self.counts[value] = 1
        else:
            self.distinct_capped = True
        if not self.numeric:
            return
        number = parse_number(value)
        if number is None:
            self.numeric = False
            return
        self.count += 1
        delta = number - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (number - self.mean)
        if len(self.sample) < HISTOGRAM_SAMPLE:
            self.sample.append(number)
        else:
            slot = self.rng.randrange(self.count)
            if slot < HISTOGRAM_SAMPLE:
                self.sample[slot] = number
        self.minimum = min(self.minimum, number)
        self.maximum = max(self.maximum, number)
        if self.integer and not number.is_integer():
            self.integer = False

    def histogram(self) -> dict:
        """HISTOGRAM_BINS equal bins over [min, max]: exact counts, or counts estimated from the
        sample (scaled to the column's count) when the column has too many distinct values."""
        lo, hi = self.minimum, self.maximum
        width = (hi - lo) / HISTOGRAM_BINS or 1.0
        bins = [0.0] * HISTOGRAM_BINS
        if self.distinct_capped:
            pairs, scale = ((v, 1) for v in self.sample), self.count / len(self.sample)
        else:
            pairs, scale = ((float(k), n) for k, n in self.counts.items()), 1.0
        for value, n in pairs:
            bins[min(int((value - lo) / width), HISTOGRAM_BINS - 1)] += n
        return {
            "edges": [lo + i * width for i in range(HISTOGRAM_BINS + 1)],
            "counts": [round(b * scale) for b in bins],
            "estimated": self.distinct_capped,
        }

    def describe(self) -> dict:
        numeric = self.numeric and self.count > 0
        info: dict = {
            "name": self.name,
            "dtype": "numeric" if numeric else "categorical",
            "missing": self.missing,
            "distinct": len(self.counts),
            "distinct_capped": self.distinct_capped,
        }
        if numeric:
            std = math.sqrt(self.m2 / self.count) if self.count else 0.0
            info.update(
                integer=self.integer,
                min=self.minimum,
                max=self.maximum,
                mean=self.mean,
                std=std,
                histogram=self.histogram(),
            )
        else:
            info.update(
                integer=False,
                top_values=[[v, n] for v, n in self.counts.most_common(TOP_VALUES)],
            )
        return info


def infer_task(column: dict, n_rows: int) -> str:
    """The task a target column implies; see the module docstring for the rule."""
    if column["dtype"] != "numeric":
        return "classification"
    distinct = column["distinct"]
    if (
        column["integer"]
        and not column["distinct_capped"]
        and distinct <= CLASSIFICATION_MAX_INTEGER_CLASSES
        and distinct * 2 <= max(n_rows, 2)
    ):
        return "classification"
    return "regression"


@dataclass
class CsvSchema:
    delimiter: str
    n_rows: int
    columns: list[dict]
    size_bytes: int
    sha256: str

    def column(self, name: str) -> dict | None:
        return next((c for c in self.columns if c["name"] == name), None)


class _HashingReader(io.RawIOBase):
    """Passes bytes through while counting and hashing them, so one read does everything."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha.update(data)
        self.size += n
        return n


def _sniff_delimiter(head: str) -> str:
    lines = head.splitlines()[:20]
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of the sample may be cut mid-way
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_csv_schema(raw: BinaryIO) -> CsvSchema:
    """Validate a CSV stream and summarise every column. Raises DatasetFileError."""
    hashing = _HashingReader(raw)
    buffered = io.BufferedReader(hashing, buffer_size=1024 * 1024)
    head_bytes = buffered.peek(SNIFF_BYTES)[:SNIFF_BYTES]
    if not head_bytes.strip():
        raise DatasetFileError("The file is empty.")
    if b"\x00" in head_bytes:
        raise DatasetFileError("The file is binary, not a CSV text file.")
    try:
        head = head_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        cut_sample = len(head_bytes) == SNIFF_BYTES and exc.start >= len(head_bytes) - 4
        if not cut_sample:  # a character cut at the sample's end is not an encoding error
            raise DatasetFileError(
                f"The file is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8 and upload again."
            ) from exc
        head = head_bytes[: exc.start].decode("utf-8-sig")
    delimiter = _sniff_delimiter(head)

    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
    # strict: an unclosed quote is an error, not a field that swallows the rest of the file.
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise DatasetFileError("The file has no header row.")
        names = [h.strip() for h in header]
        _check_header(names)
        summaries = [ColumnSummary(name) for name in names]
        width = len(names)
        n_rows = 0
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise DatasetFileError(
                    f"Line {reader.line_num}: expected {width} fields like the header, found {len(row)}."
                )
            n_rows += 1
            for summary, value in zip(summaries, row, strict=True):
                summary.add(value)
    except UnicodeDecodeError as exc:
        raise DatasetFileError(
            f"The file is not UTF-8 text (near line {reader.line_num + 1}); save it as UTF-8 and upload again."
        ) from exc
    except csv.Error as exc:
        raise DatasetFileError(f"Line {reader.line_num}: {exc}.") from exc
    if n_rows == 0:
        raise DatasetFileError("The file has a header but no data rows.")
    _check_header_is_not_data(names, summaries)
    return CsvSchema(
        delimiter=delimiter,
        n_rows=n_rows,
        columns=[s.describe() for s in summaries],
        size_bytes=hashing.size,
        sha256=hashing.sha.hexdigest(),
    )


def _check_header(names: list[str]) -> None:
    for position, name in enumerate(names, start=1):
        if not name:
            raise DatasetFileError(
                f"Line 1: column {position} has an empty name in the header row."
            )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DatasetFileError(
                f"Line 1: the column name '{name}' appears twice in the header row."
            )
        seen.add(name)


def _check_header_is_not_data(names: list[str], summaries: list[ColumnSummary]) -> None:
    """Line 1 is data, not a header, when it has numbers over every numeric column and, over
    every text column, a value that column holds (a headerless `5.1,3.5,1.4,0.2,setosa`)."""
    numeric = [s.numeric and s.count > 0 for s in summaries]
    if not any(numeric):
        return
    looks_like_data = all(
        parse_number(name) is not None if is_numeric else name in summary.counts
        for name, summary, is_numeric in zip(names, summaries, numeric, strict=True)
    )
    if looks_like_data:
        raise DatasetFileError(
            "The file has no header row: line 1 holds values like the rows below it. "
            "Add a first line naming the columns."
        )
