"""Reading an uploaded CSV once, as a stream: validate its shape and infer a schema.

No Django, no pandas: the file is read as a stream, a chunk of rows at a time, so memory stays
bounded by one chunk and the per-column summaries, never by the file size; each chunk's
splitting (str.split, or the csv module), counting and number parsing run in C (Counter,
NumPy) rather than value by value.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from django.conf import settings

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
CHUNK_ROWS = 8192  # the fewest rows whose numbers are summed together: a few MB of text at most
# A narrower table sums more rows at once (up to 8 x CHUNK_ROWS), this many numbers at most:
# each fold of a column costs tens of microseconds in NumPy calls and the histogram sample's
# draws, however short: on bench/ingest's 13 columns, 0.9 CPU s a GB at 8,192 rows, 0.5 at
# 32,768. Both readers fold at the same rows, so they still agree to the bit.
CHUNK_NUMBERS = 2**19
# Lines split and counted together, at most CHUNK_ROWS: their strings stay in the CPU cache.
# 2048: 17 % less CPU than 8192 on bench/ingest's CSV (50 MB, least of 3 interleaved runs,
# 2-core Xeon VM); 1024 about the same, 4096 7 % more.
READ_LINES = 2048
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


def finite_numbers(values: Sequence[str]) -> np.ndarray | None:
    """float() of each value, in C; None when one of them is not a number, or not finite (inf
    or nan is not a number to train on). np.array(values, dtype=float) calls the same float
    parser on each, after a costly look at their types."""
    try:
        numbers = np.fromiter(map(float, values), np.float64, len(values))
    except ValueError:
        return None
    return numbers if np.isfinite(numbers).all() else None


@dataclass
class ColumnSummary:
    """One column's running summary, fed the values of a few thousand rows at a time
    (`add_values`): the counting and the number parsing run in C (Counter, NumPy), not value
    by value."""

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
    chunk_numbers: list[np.ndarray] = field(default_factory=list)  # summed at `end_chunk`
    # The counted values once DISTINCT_CAP is reached (they no longer change), as a pyarrow
    # array for the block reader's look-ups (csv_blocks).
    known_values: object = None
    known_tally: np.ndarray | None = None  # how many more of each of them were counted
    # Whether the block reader may stop tallying them while the column is numeric past the
    # cap (nothing shows those counts), and whether it did: should the column turn
    # categorical, they are counted again (csv_blocks._count_again).
    may_skip_tally: bool = False
    tally_skipped: bool = False

    def add_values(self, raw: Sequence[str], stripped: bool = False) -> None:
        """Add this column's values of consecutive rows, as the file holds them (`stripped`:
        none of them has whitespace around it). Call `end_chunk` at the end of each chunk."""
        values = raw if stripped else list(map(str.strip, raw))
        if self.numeric:
            numbers = finite_numbers(values)
            if numbers is not None:  # a finite number each, so none of them is a missing value
                self._count(values, numbers_only=True)
                self.chunk_numbers.append(numbers)
                return
        missing = self._count(values)
        self.missing += missing
        if not self.numeric:
            return
        if not missing:  # a word, or inf or nan: the column is categorical from here on
            self.numeric = False
            return
        present = [v for v in values if v not in MISSING_SPELLINGS]
        if present:
            numbers = finite_numbers(present)
            if numbers is None:
                self.numeric = False
            else:
                self.chunk_numbers.append(numbers)

    def end_chunk(self) -> None:
        """Fold the numbers of the chunk's rows into the statistics: the sums are merged a
        chunk at a time, whatever the pieces the rows came in."""
        if self.numeric and self.chunk_numbers:
            self._add_numbers(np.concatenate(self.chunk_numbers))
        self.chunk_numbers = []

    def _count(self, values: Sequence[str], numbers_only: bool = False) -> int:
        """Count the values that are not missing; returns how many were missing. Past
        DISTINCT_CAP distinct values only those already counted grow (admitted in the order
        they first appear, as if counted one by one). `numbers_only`: every value is a finite
        number, so none is missing."""
        counts = self.counts
        if len(counts) + len(values) <= DISTINCT_CAP:  # the cap is out of reach: count all, in C
            counts.update(values)
            return sum(counts.pop(v) for v in counts.keys() & MISSING_SPELLINGS)
        if len(counts) >= DISTINCT_CAP:  # only the values already counted grow
            known = list(filter(counts.__contains__, values))  # never a missing value
            counts.update(known)
            if len(known) == len(values):
                return 0
            missing = (
                0 if numbers_only else len(list(filter(MISSING_SPELLINGS.__contains__, values)))
            )
            if len(known) + missing < len(values):
                self.distinct_capped = True
            return missing
        # The cap is reached within these values: admit new values one by one.
        chunk_counts = Counter(values)
        missing = sum(chunk_counts.pop(v) for v in chunk_counts.keys() & MISSING_SPELLINGS)
        self.admit(chunk_counts.items())
        return missing

    def admit(self, pairs) -> None:
        """Count (value, n) pairs, the values in the order they first appear: past
        DISTINCT_CAP distinct values only those already counted grow."""
        counts = self.counts
        for value, n in pairs:
            if value in counts:
                counts[value] += n
            elif len(counts) < DISTINCT_CAP:
                counts[value] = n
            else:
                self.distinct_capped = True

    def _add_numbers(self, numbers: np.ndarray) -> None:
        n, seen = len(numbers), self.count
        chunk_mean = float(numbers.mean())
        delta = chunk_mean - self.mean
        self.count = seen + n
        self.mean += delta * n / self.count
        deviations = numbers - chunk_mean
        np.multiply(deviations, deviations, out=deviations)  # ** 2, without another array
        self.m2 += float(deviations.sum()) + delta**2 * seen * n / self.count
        self.minimum = min(self.minimum, float(numbers.min()))
        self.maximum = max(self.maximum, float(numbers.max()))
        if self.integer and not np.array_equal(numbers, np.floor(numbers)):
            self.integer = False
        self._sample(numbers, seen)

    def _sample(self, numbers: np.ndarray, seen: int) -> None:
        """Reservoir sampling (Algorithm R), a chunk at a time: the i-th number replaces a
        random slot of the sample with probability HISTOGRAM_SAMPLE / i. Drawn by thinning,
        without a draw per number: numbers picked with the chunk's highest probability
        (that of its first number) are kept with the ratio of theirs to it."""
        free = min(HISTOGRAM_SAMPLE - len(self.sample), len(numbers))
        if free:
            self.sample = np.concatenate([self.sample, numbers[:free]])
        rest = numbers[free:]
        if not len(rest):
            return
        first = seen + free + 1  # the 1-based place of rest[0] among the column's numbers
        picked = self.rng.binomial(len(rest), HISTOGRAM_SAMPLE / first)
        offsets = np.sort(self.rng.choice(len(rest), picked, replace=False))
        kept = offsets[self.rng.random(picked) * (first + offsets) < first]
        # In order, so a slot taken twice keeps the later number, as one by one.
        self.sample[self.rng.integers(0, HISTOGRAM_SAMPLE, len(kept))] = rest[kept]

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


def sniff_head(head_bytes: bytes) -> str:
    """Check the file's first SNIFF_BYTES (empty, binary, not UTF-8) and find its delimiter."""
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
    return _sniff_delimiter(head)


def read_header(reader) -> list[str]:
    """The column names from a csv.reader's first row; raises DatasetFileError."""
    try:
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise _not_utf8(reader.line_num + 1) from exc
    except csv.Error as exc:
        raise _csv_error(reader.line_num, exc) from exc
    if header is None or not any(h.strip() for h in header):
        raise DatasetFileError("The file has no header row.")
    names = [h.strip() for h in header]
    check_column_count(len(names), where="Line 1: the header")
    _check_header(names)
    return names


def read_csv_schema(raw: BinaryIO) -> CsvSchema:
    """Validate a CSV stream and summarise every column. Raises DatasetFileError.

    Read in blocks by pyarrow where a block allows it, else row by row (csv_blocks)."""
    from .csv_blocks import read_csv_blocks  # it builds on this module

    return read_csv_blocks(raw)


def read_csv_schema_by_rows(raw: BinaryIO) -> CsvSchema:
    """The reader before pyarrow: every line through the csv module's rules (in pieces, see
    read_lines). The block reader hands it what pyarrow cannot read exactly, and the
    differential test (tests/datasets) holds the two to the same answers."""
    hashing = _HashingReader(raw)
    buffered = io.BufferedReader(hashing, buffer_size=1024 * 1024)
    delimiter = sniff_head(buffered.peek(SNIFF_BYTES)[:SNIFF_BYTES])

    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
    # strict: an unclosed quote is an error, not a field that swallows the rest of the file.
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    names = read_header(reader)
    summaries = [ColumnSummary(name) for name in names]
    n_rows = _read_rows(text, delimiter, summaries, hashing, lines_read=reader.line_num)
    return finish_schema(names, summaries, delimiter, n_rows, hashing.size, hashing.sha)


def finish_schema(names, summaries, delimiter, n_rows, size, sha) -> CsvSchema:
    """`sha`: a hashlib object or its hex digest."""
    if n_rows == 0:
        raise DatasetFileError("The file has a header but no data rows.")
    _check_header_is_not_data(names, summaries)
    return CsvSchema(
        delimiter=delimiter,
        n_rows=n_rows,
        columns=[s.describe() for s in summaries],
        size_bytes=size,
        sha256=sha if isinstance(sha, str) else sha.hexdigest(),
    )


def _not_utf8(line: int) -> DatasetFileError:
    return DatasetFileError(
        f"The file is not UTF-8 text (near line {line}); save it as UTF-8 and upload again."
    )


def _csv_error(line: int, exc: csv.Error) -> DatasetFileError:
    return DatasetFileError(f"Line {line}: {exc}.")


def chunk_rows(width: int) -> int:
    """The rows whose numbers are summed together in a table of `width` columns."""
    return CHUNK_ROWS * max(1, min(8, CHUNK_NUMBERS // (CHUNK_ROWS * max(width, 1))))


@dataclass
class RowSink:
    """Where rows go: the column summaries, fed a piece at a time and folded every
    `chunk_rows` rows (`end_chunk`), however the pieces came; and how many lines of the file
    were read."""

    summaries: list[ColumnSummary]
    lines_read: int
    n_rows: int = 0
    in_chunk: int = 0
    chunk_rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.chunk_rows = chunk_rows(len(self.summaries))

    def room(self) -> int:
        """Rows until the current chunk ends."""
        return self.chunk_rows - self.in_chunk

    def add(self, columns, n: int, stripped: bool, lines: int) -> None:
        """`n` rows (at most `room()`), as columns of values, taken from `lines` lines."""
        if n:
            for summary, values in zip(self.summaries, columns, strict=True):
                summary.add_values(values, stripped)
        self.n_rows, self.in_chunk, self.lines_read = (
            self.n_rows + n,
            self.in_chunk + n,
            self.lines_read + lines,
        )
        if self.in_chunk == self.chunk_rows:
            self.end_chunk()

    def end_chunk(self) -> None:
        for summary in self.summaries:
            summary.end_chunk()
        self.in_chunk = 0


def _read_rows(
    text: io.TextIOWrapper,
    delimiter: str,
    summaries: list[ColumnSummary],
    hashing: _HashingReader,
    lines_read: int,
) -> int:
    """Read the rows after the header into the summaries; returns how many there were."""
    sink = RowSink(summaries, lines_read)
    read_lines(text, delimiter, sink, hashing)
    sink.end_chunk()
    return sink.n_rows


def read_lines(
    source: Iterator[str],
    delimiter: str,
    sink: RowSink,
    hashing: _HashingReader,
    limit: int | None = None,
) -> None:
    """Read the lines of `source` (`limit` of them at least, when given: a quoted field may read
    on past them) into `sink`.

    The lines come READ_LINES at a time, each piece read the cheapest way that gives the csv
    module's rows: plain lines (no quote, no blank or ragged line) by str.split; others by
    the csv module in one call; and a piece with an error to name, a blank line or a quoted
    field running past its end, row by row as before, which names the line. The pieces end
    where chunks of rows (RowSink.chunk_rows) do, and the numbers are summed a chunk at a time, as
    they were when every row went through the csv module."""
    width = len(sink.summaries)
    left = math.inf if limit is None else limit
    while left > 0:
        lines: list[str] = []
        failure = None
        try:
            # extend keeps the lines read before a decoding error: their errors come first.
            lines.extend(itertools.islice(source, min(READ_LINES, sink.room(), left)))
        except UnicodeDecodeError as exc:
            failure = exc
        if not lines and failure is None:
            break
        plain = None if failure else _plain_columns(lines, delimiter, width, hashing)
        if plain:
            (columns, stripped), n, used = plain, len(lines), len(lines)
        else:
            whole = None if failure else _whole_rows(lines, delimiter, width, hashing)
            if whole:
                (rows, stripped), used = whole, len(lines)
            else:
                rest = _failing(failure) if failure else source
                rows, used = _csv_rows(lines, rest, delimiter, width, hashing, sink.lines_read)
                stripped = False
            columns, n = zip(*rows, strict=True), len(rows)
        sink.add(columns, n, stripped, used)
        left -= used
        if failure:
            raise _not_utf8(sink.lines_read + 1) from failure


# The ASCII characters str.strip removes, but for those of the line ends (LF or CRLF).
_ASCII_PADDING = "".join(c for c in map(chr, range(128)) if c.isspace() and c not in "\r\n")


def _plain_columns(
    lines: list[str], delimiter: str, width: int, hashing: _HashingReader
) -> tuple[list[list[str]], bool] | None:
    """The columns of `lines` by str.split, and whether their values hold no whitespace to
    strip; None unless str.split gives exactly the csv module's fields and no error was due:
    at least two columns, no NUL byte read so far, no quote, no carriage return but in a CRLF,
    width - 1 delimiters on every line (so no blank or ragged line) and no line longer than
    the csv module's field limit."""
    if width < 2 or hashing.holds_nul:
        return None
    joined = delimiter.join(lines)  # each line's end stays on its last field
    if '"' in joined or ("\r" in joined and joined.count("\r") != joined.count("\r\n")):
        return None  # a quoted field, or a lone CR, which ends a line as LF does
    if max(map(len, lines)) > csv.field_size_limit():
        return None
    fields = joined.split(delimiter)
    if len(fields) != len(lines) * width:
        return None
    columns = [fields[i::width] for i in range(width)]
    # A field holds one line end at most. With width fields a line on average, every line end
    # on a last field means width - 1 delimiters on every line. (Only the file's last line
    # may lack its LF, a lone CR being ruled out above.)
    line_ends = len(lines) if lines[-1].endswith("\n") else len(lines) - 1
    if "".join(columns[-1]).count("\n") != line_ends:
        return None
    columns[-1] = list(map(str.strip, columns[-1]))  # off with the line ends
    return columns, not _holds_padding(joined, delimiter)


def _holds_padding(text: str, delimiter: str = "") -> bool:
    """Whether `text` may hold whitespace that str.strip would take off a value, line ends
    (LF or CRLF) aside, and the delimiter when given (no unquoted value holds it)."""
    return not text.isascii() or any(c in text for c in _ASCII_PADDING if c != delimiter)


def _whole_rows(
    lines: list[str], delimiter: str, width: int, hashing: _HashingReader
) -> tuple[list[list[str]], bool] | None:
    """The rows of `lines` by the csv module in one call (quoted fields, say), and whether
    their values hold no whitespace to strip; None when they need reading row by row: a csv
    error, a quoted field running past the last line (strict mode calls the end of the lines
    an error then), a blank or ragged row, a NUL byte read."""
    if width < 2 or hashing.holds_nul:
        return None
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    if set(map(len, rows)) != {width}:
        return None
    # A row a line: no value holds a line end. A quoted value may hold the delimiter (a tab).
    stripped = len(rows) == len(lines) and not _holds_padding("".join(lines))
    return rows, stripped


def _csv_rows(
    lines: list[str],
    rest: Iterator[str],
    delimiter: str,
    width: int,
    hashing: _HashingReader,
    lines_read: int,
) -> tuple[list[list[str]], int]:
    """The rows of `lines` by the csv module, reading on into `rest` when a quoted field runs
    past the last line; returns the rows and how many lines they took. Raises
    DatasetFileError naming the line (`lines_read` lines come before `lines`)."""
    reader = csv.reader(itertools.chain(lines, rest), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        while reader.line_num < len(lines):
            row = next(reader)
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise DatasetFileError(
                    f"Line {lines_read + reader.line_num}: expected {width} fields like the "
                    f"header, found {len(row)}."
                )
            # The bytes are read ahead of the rows: once a NUL byte was read, look for it.
            if hashing.holds_nul and any("\x00" in value for value in row):
                raise DatasetFileError(
                    f"Line {lines_read + reader.line_num}: the file holds NUL bytes: it is "
                    "binary, not a CSV text file."
                )
            rows.append(row)
    except UnicodeDecodeError as exc:
        raise _not_utf8(lines_read + reader.line_num + 1) from exc
    except csv.Error as exc:
        raise _csv_error(lines_read + reader.line_num, exc) from exc
    return rows, reader.line_num


def _failing(exc: Exception) -> Iterator[str]:
    """Lines that end in `exc`: the decoding error that cut a piece short, raised when the csv
    module reads past the lines before it, as it would have when reading the file."""
    raise exc
    yield  # a generator: the error comes when a line is asked for


def check_column_count(n_columns: int, *, where: str) -> None:
    """At most DOWNHILL_MAX_COLUMNS, checked before any value is read: a file of 100,000
    columns is refused at once instead of being summarised for minutes, and every page and list
    stays fast for the widest table allowed (tests/datasets/test_wide_tables.py)."""
    limit = settings.DOWNHILL_MAX_COLUMNS
    if n_columns > limit:
        raise DatasetFileError(
            f"{where} has {n_columns:,} columns; this server takes at most {limit:,} "
            "(DOWNHILL_MAX_COLUMNS). Leave out columns the model should not see, or reduce "
            "them (PCA, feature selection) before uploading."
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
