"""Reading an uploaded CSV once, as a stream: validate its shape and infer a schema.

No Django, no pandas: the file is read as a stream, CHUNK_ROWS rows at a time, so memory stays
bounded by one chunk and the per-column summaries, never by the file size; each chunk's
counting and number parsing run in C (Counter, NumPy) rather than value by value.

Task rule (documented in README): a target column is `classification` when its values are
text, or when they are all integers with at most CLASSIFICATION_MAX_INTEGER_CLASSES distinct
values (and fewer distinct values than half the rows); otherwise `regression`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
# Every spelling of them in upper and lower case ("NA", "Null", ...): a chunk's missing values
# are then found by one set intersection, not by lower-casing each distinct value.
MISSING_SPELLINGS = frozenset(
    "".join(letters)
    for token in MISSING_TOKENS
    for letters in itertools.product(*({c.lower(), c.upper()} for c in token))
)
CLASSIFICATION_MAX_INTEGER_CLASSES = 20
DISTINCT_CAP = 10_000  # beyond this many distinct values a column's counts stop growing
TOP_VALUES = 10
HISTOGRAM_BINS = 20
HISTOGRAM_SAMPLE = 10_000
SNIFF_BYTES = 64 * 1024
CHUNK_ROWS = 8192  # rows summarised together: a few MB of text at most
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
    """One column's running summary, fed a chunk of rows at a time (`add_chunk`): the counting
    and the number parsing of a chunk run in C (Counter, NumPy), not value by value."""

    name: str
    missing: int = 0
    numeric: bool = True
    integer: bool = True
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean, merged chunk by chunk (Chan et al.)
    minimum: float = math.inf
    maximum: float = -math.inf
    counts: Counter = field(default_factory=Counter)
    distinct_capped: bool = False
    # A uniform sample of the numbers (reservoir), for the histogram of a column with more
    # distinct values than `counts` keeps; exact counts serve every other column.
    sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def add_chunk(self, raw: Sequence[str]) -> None:
        """Add this column's values of consecutive rows, as the file holds them."""
        values = list(map(str.strip, raw))
        chunk_counts = Counter(values)
        missing = chunk_counts.keys() & MISSING_SPELLINGS
        if missing:
            self.missing += sum(chunk_counts.pop(v) for v in missing)
            values = [v for v in values if v not in missing]
        self._count(chunk_counts)
        if self.numeric and values:
            self._add_numbers(values)

    def _count(self, chunk_counts: Counter) -> None:
        """Merge a chunk's counts; past DISTINCT_CAP values only those already counted grow
        (admitted in the order they first appear, as if counted one by one)."""
        counts = self.counts
        if len(counts) < DISTINCT_CAP:
            for value, n in chunk_counts.items():
                if value in counts:
                    counts[value] += n
                elif len(counts) < DISTINCT_CAP:
                    counts[value] = n
                else:
                    self.distinct_capped = True
            return
        known = chunk_counts.keys() & counts.keys()
        for value in known:
            counts[value] += chunk_counts[value]
        if len(known) < len(chunk_counts):
            self.distinct_capped = True

    def _add_numbers(self, values: list[str]) -> None:
        try:
            numbers = np.array(values, dtype=np.float64)  # float() of each, in C
        except ValueError:  # a word: the column is categorical from here on
            self.numeric = False
            return
        if not np.isfinite(numbers).all():  # inf or -nan is not a number to train on
            self.numeric = False
            return
        n, seen = len(numbers), self.count
        chunk_mean = float(numbers.mean())
        delta = chunk_mean - self.mean
        self.count = seen + n
        self.mean += delta * n / self.count
        self.m2 += float(((numbers - chunk_mean) ** 2).sum()) + delta**2 * seen * n / self.count
        self.minimum = min(self.minimum, float(numbers.min()))
        self.maximum = max(self.maximum, float(numbers.max()))
        if self.integer and not np.array_equal(numbers, np.floor(numbers)):
            self.integer = False
        self._sample(numbers, seen)

    def _sample(self, numbers: np.ndarray, seen: int) -> None:
        """Reservoir sampling (Algorithm R), a chunk at a time: the i-th number replaces a
        random slot of the sample with probability HISTOGRAM_SAMPLE / i."""
        free = min(HISTOGRAM_SAMPLE - len(self.sample), len(numbers))
        if free:
            self.sample = np.concatenate([self.sample, numbers[:free]])
        rest = numbers[free:]
        if len(rest):
            first = seen + free + 1
            slots = self.rng.integers(0, np.arange(first, first + len(rest)))
            keep = slots < HISTOGRAM_SAMPLE
            self.sample[slots[keep]] = rest[keep]

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
        self.holds_nul = False  # a NUL byte was read: the file is binary

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha.update(data)
        self.size += n
        self.holds_nul = self.holds_nul or b"\x00" in data
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
        chunk: list[list[str]] = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise DatasetFileError(
                    f"Line {reader.line_num}: expected {width} fields like the header, found {len(row)}."
                )
            # The bytes are read ahead of the rows: once a NUL byte was read, look for it.
            if hashing.holds_nul and any("\x00" in value for value in row):
                raise DatasetFileError(
                    f"Line {reader.line_num}: the file holds NUL bytes: it is binary, not a CSV text file."
                )
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                n_rows += _summarise(summaries, chunk)
                chunk = []
        n_rows += _summarise(summaries, chunk)
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


def _summarise(summaries: list[ColumnSummary], rows: list[list[str]]) -> int:
    """Add a chunk of rows to the column summaries; returns how many rows it held."""
    if rows:
        for summary, values in zip(summaries, zip(*rows, strict=True), strict=True):
            summary.add_chunk(values)
    return len(rows)


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
