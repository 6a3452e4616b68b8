"""Reading a CSV in blocks of bytes with pyarrow, giving exactly what the row reader gives.

The file is cut into blocks of about BLOCK_BYTES at line ends. A block pyarrow reads exactly
as the csv module would (every quote where RFC 4180 puts it, no lone CR, no NUL byte, no field
at the csv module's size limit, no empty line, every row as wide as the header) is parsed by
pyarrow's CSV parser (C++, on every core) into columns of text, each value as its index among
the column's distinct values in the block (dictionary-encoded, in order of first
appearance). Each column is then summarised by its distinct values (_Distinct): each is
stripped as str.strip strips, looked up among the missing spellings, counted (as Counter
counts, in order of first appearance) and parsed as a number once, however many rows hold
it. Any other block, and any block pyarrow refuses (a ragged row, bytes that are not UTF-8),
is read again by the row reader (schema.read_lines): only that block, from its first line,
so a message names the same line as before (a byte that is not UTF-8: the line that holds
it, where the row reader, decoding 8 KiB ahead, named one up to 8 KiB before it). The
summaries still fold their numbers every chunk of rows of the file (RowSink.chunk_rows), so
means and deviations agree with the row reader to the bit. A numeric column past
DISTINCT_CAP distinct values is parsed straight to float64 instead (nothing shows its values'
counts any more); should it turn categorical, its counts are taken again from a second read
of the stream (_count_again), so they stay exact.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import schema
from .schema import MISSING_SPELLINGS, ColumnSummary, CsvSchema, RowSink

# jemalloc for pyarrow's buffers where the wheel has it: reading bench/ingest's 100 MB file
# five times in one process, peak RSS went 267 -> 286 MB with it, 294 -> 354 with mimalloc
# (pyarrow's default) and 311 -> 392 with the system allocator. A datasets worker reads
# upload after upload: its memory must stay flat across them, not only within one.
try:
    pa.set_memory_pool(pa.jemalloc_memory_pool())
except NotImplementedError:  # a build without jemalloc: pyarrow's default
    pass

# 8 MiB: about 75,000 rows of bench/ingest's CSV, parsed by pyarrow in 1 MiB pieces on every
# core; the row reader re-reads at most this much to name a line. 4, 8 and 16 MiB took the
# same CPU within noise on bench/ingest's 100 MB file (2 loaded cores); peak RSS of a whole
# read, Django and pyarrow loaded: 244 MB at 2 MiB, 262 at 4, 282 at 8.
BLOCK_BYTES = 8 * 1024 * 1024
PARSE_BLOCK_BYTES = 1024 * 1024
BOM = b"\xef\xbb\xbf"
# Text as pyarrow parses it: each value's index among the block's distinct values.
TEXT = pa.dictionary(pa.int32(), pa.string())
# What str.strip takes off a value: every character whose isspace() is true (none lies past
# U+3000; tests/datasets pins it).
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
MISSING_VALUES = pa.array(sorted(MISSING_SPELLINGS), pa.string())
COLUMN_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="csv-columns")
QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")


class _Bytes:
    """The upload's bytes, hashed and counted as they are read, handed out in blocks that end
    at a line end (the last one at the end of the file)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0
        self.pending = b""
        self.eof = False

    def fill(self, n: int) -> None:
        """Read until at least `n` bytes are pending, or the file ends."""
        parts, have = [self.pending], len(self.pending)
        while have < n and not self.eof:
            data = self.raw.read(max(n - have, PARSE_BLOCK_BYTES))
            if not data:
                self.eof = True
                break
            self.sha.update(data)
            self.size += len(data)
            parts.append(data)
            have += len(data)
        self.pending = b"".join(parts)

    def block(self, size: int) -> bytes:
        """About `size` bytes up to a line end (more when one line is longer); b"" at the end."""
        self.fill(size)
        cut = self.pending.rfind(b"\n", 0, size) + 1
        while not cut and not self.eof:
            searched = len(self.pending)
            self.fill(searched + size)
            cut = self.pending.find(b"\n", searched) + 1
        cut = cut or len(self.pending)
        block, self.pending = self.pending[:cut], self.pending[cut:]
        return block

    def give_back(self, data: bytes) -> None:
        self.pending = data + self.pending


class _Lines:
    """A block's lines as the row reader reads a file (LF, CRLF and a lone CR end a line),
    going on into the next blocks when a quoted field runs past the block's end; a
    UnicodeDecodeError where the bytes stop being UTF-8, after the whole lines before it.
    `give_back` returns what was not read."""

    def __init__(self, source: _Bytes, block: bytes):
        self.source = source
        self.holds_nul = False  # as schema._HashingReader's: a NUL byte was read
        self.lines: list[str] = []
        self.taken = 0
        self.data = b""
        self.error: UnicodeDecodeError | None = None
        self._load(block)
        self.in_block = None if self.error else len(self.lines)

    def _load(self, data: bytes) -> None:
        self.holds_nul = self.holds_nul or b"\x00" in data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text, self.error = data[: exc.start].decode("utf-8"), exc
        lines = list(io.StringIO(text, newline=""))
        if self.error and lines and not lines[-1].endswith(("\n", "\r")):
            lines.pop()  # the start of the line that is not UTF-8
        self.data, self.lines, self.taken = data, lines, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.taken == len(self.lines):
            if self.error:
                raise self.error
            more = self.source.block(BLOCK_BYTES)
            if not more:
                raise StopIteration
            self._load(more)
            if not self.lines:
                raise self.error or StopIteration
        self.taken += 1
        return self.lines[self.taken - 1]

    def give_back(self) -> None:
        used = len("".join(self.lines[: self.taken]).encode("utf-8"))
        self.source.give_back(self.data[used:])
        self.data, self.lines, self.taken = b"", [], 0


def read_csv_blocks(raw: BinaryIO) -> CsvSchema:
    """Validate a CSV stream and summarise every column (schema.read_csv_schema)."""
    source, delimiter, names, sink = _start(raw, skip_tallies=raw.seekable())
    _read_blocks(source, delimiter, sink)
    sink.end_chunk()
    for summary in sink.summaries:
        add_tally(summary)
    recount = [i for i, s in enumerate(sink.summaries) if s.tally_skipped and not s.numeric]
    if recount:
        _count_again(raw, {i: sink.summaries[i] for i in recount})
    size, sha = source.size, source.sha
    return schema.finish_schema(names, sink.summaries, delimiter, sink.n_rows, size, sha)


def _start(raw: BinaryIO, *, skip_tallies: bool) -> tuple[_Bytes, str, list[str], RowSink]:
    """The stream's bytes after its header, its delimiter and column names, and a sink of a
    summary per column. `skip_tallies`: the stream may be read again (see _count)."""
    source = _Bytes(raw)
    source.fill(schema.SNIFF_BYTES)
    delimiter = schema.sniff_head(source.pending[: schema.SNIFF_BYTES])
    first = source.block(BLOCK_BYTES)
    lines = _Lines(source, first.removeprefix(BOM))
    # strict: an unclosed quote is an error, not a field that swallows the rest of the file.
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    names = schema.read_header(reader)
    lines.give_back()
    summaries = [ColumnSummary(name, may_skip_tally=skip_tallies) for name in names]
    return source, delimiter, names, RowSink(summaries, lines_read=reader.line_num)


def _count_again(raw: BinaryIO, summaries: dict[int, ColumnSummary]) -> None:
    """Count the values of columns (by index) that turned categorical after their tallies
    were skipped, reading the stream once more: a counted value was counted from its first
    appearance, so its count is every time it appears, and each column's counts become its
    totals over the file."""
    raw.seek(0)
    source, delimiter, _, sink = _start(raw, skip_tallies=False)
    for i, again in enumerate(sink.summaries):
        again.numeric = False  # text throughout, whatever it holds
        if i in summaries:  # the cap reached: these values alone are tallied
            again.counts = Counter(dict.fromkeys(summaries[i].counts, 0))
    _read_blocks(source, delimiter, sink)
    for i, summary in summaries.items():
        add_tally(sink.summaries[i])
        summary.counts = sink.summaries[i].counts


def _read_blocks(source: _Bytes, delimiter: str, sink: RowSink) -> None:
    """Every block after the header into `sink`. While one block is summarised, a thread
    reads, hashes and parses the next (all three leave the GIL): two cores, not one. A block
    for the row reader is read with nothing ahead of it, as it may read on past its end."""
    width = len(sink.summaries)

    def parse_next(types: dict[int, pa.DataType]) -> tuple[bytes, pa.Table | None]:
        block = _outside_quotes(source, source.block(BLOCK_BYTES))
        if _numbers(types) and _holds_long_line(block, csv.field_size_limit()):
            types = _texts(types)  # a number that long is the csv module's error: text it is
        return block, _arrow_table(block, delimiter, width, types) if block else None

    with ThreadPoolExecutor(max_workers=1) as reader:
        block, table = parse_next({})
        while block:
            if table is None:
                _read_by_rows(source, block, delimiter, sink)
                block, table = parse_next(_types(sink))
                continue
            ahead = reader.submit(parse_next, _types(sink))
            if not _numbers_fit(sink, table):  # a column turned, or holds nan or inf
                table = _arrow_table(block, delimiter, width, _texts(_types(sink)))
            add_table(sink, table.columns, table.num_rows, _lines(block, table.num_rows))
            block, table = ahead.result()


def _types(sink: RowSink) -> dict[int, pa.DataType]:
    """How pyarrow parses the columns that are not dictionary-encoded text (TEXT): straight to
    numbers, those numeric past the cap, where the text is counted no more (see
    ColumnSummary.may_skip_tally); as plain text, those with DISTINCT_CAP values counted,
    most of whose values are new (an id, free text), where a dictionary would cost a second
    hashing of every value."""
    types = {}
    for i, summary in enumerate(sink.summaries):
        if _counts_no_text(summary):
            types[i] = pa.float64()
        elif len(summary.counts) >= schema.DISTINCT_CAP:
            types[i] = pa.string()
    return types


def _numbers(types: dict[int, pa.DataType]) -> bool:
    return any(pa.types.is_floating(t) for t in types.values())


def _texts(types: dict[int, pa.DataType]) -> dict[int, pa.DataType]:
    """`types` with every column parsed as text."""
    return {i: t for i, t in types.items() if not pa.types.is_floating(t)}


def _counts_no_text(summary: ColumnSummary) -> bool:
    return summary.numeric and summary.distinct_capped and summary.may_skip_tally


def _numbers_fit(sink: RowSink, table: pa.Table) -> bool:
    """Whether the block's columns parsed to numbers may be summed as numbers: their columns
    still count no text, and every number is finite (text such as nan is a missing value)."""
    for summary, column in zip(sink.summaries, table.columns, strict=True):
        if _is_numbers(column) and not (
            _counts_no_text(summary) and pc.all(pc.is_finite(column)).as_py() is not False
        ):
            return False
    return True


def _outside_quotes(source: _Bytes, block: bytes) -> bytes:
    """The block up to its last line end with an even number of quotes before it (the rest
    given back), so that a quoted value holding line ends is not cut in two; the block as it
    is when its quotes are even, or when no line end qualifies. Only a guess where quotes are
    out of place: such a block goes to the row reader, which reads on as far as it must."""
    if b'"' not in block or block.count(b'"') % 2 == 0:
        return block
    data = np.frombuffer(block, np.uint8)
    line_ends = np.flatnonzero(data == LF)
    quotes_before = np.searchsorted(np.flatnonzero(data == QUOTE), line_ends)
    outside = line_ends[quotes_before % 2 == 0]
    if not len(outside):
        return block
    cut = int(outside[-1]) + 1
    source.give_back(block[cut:])
    return block[:cut]


def _read_by_rows(source: _Bytes, block: bytes, delimiter: str, sink: RowSink) -> None:
    """The row reader over `block` (and on past it while a quoted field is open)."""
    lines = _Lines(source, block)
    schema.read_lines(lines, delimiter, sink, lines, limit=lines.in_block)
    lines.give_back()


def _lines(block: bytes, rows: int) -> int:
    """A block's lines, as the row reader counts them where it has no lone CR and pyarrow
    read it: a line each row, where no value is quoted (a block with an empty line, which
    pyarrow reads as a row of empty values, went to the row reader: _holds_empty_row); else
    its LFs (a line end inside a quoted value counts), and the last line without one."""
    if b'"' not in block:
        return rows
    return block.count(b"\n") + (not block.endswith(b"\n"))


def _holds_long_line(block: bytes, limit: int) -> bool:
    """Whether a line of the block may hold a field of `limit` characters or more: some
    `limit` bytes in a row without a line end. Looks from line end to line end `limit` bytes
    apart (memrchr), not at every byte."""
    start = 0
    while len(block) - start >= limit:
        end = block.rfind(b"\n", start, start + limit)
        if end < 0:
            return True
        start = end + 1
    return False


def _quotes_are_plain(block: bytes, delimiter: str) -> bool:
    """Whether every quote of the block opens a field, closes one or doubles one inside it
    (RFC 4180): then pyarrow (double quotes, line ends in values) reads it as the csv module
    does in strict mode. Counting quotes tells inside from outside: a run of quotes with an
    even number of quotes before it starts outside a quoted value, so it must start a field
    (the block's start, a delimiter or LF before it; else it is a quote inside a plain value,
    which the csv module keeps as text); one that ends with an even number behind it closes
    a value, so a field must end there (a delimiter, CR, LF or the block's end after it; else
    the csv module refuses the text after a closing quote). An odd count in all: a value
    still open at the block's end (or a quote left open), which the row reader follows."""
    data = np.frombuffer(block, np.uint8)
    quotes = np.flatnonzero(data == QUOTE)
    if len(quotes) % 2:
        return False
    first = np.flatnonzero(np.diff(quotes, prepend=-2) != 1)  # each run's first quote
    run = np.diff(first, append=len(quotes))  # quotes in each run
    start, end = quotes[first], quotes[first] + run  # a run's first byte, the byte after it
    opens = first % 2 == 0
    closes = (first + run) % 2 == 0
    before = data[np.maximum(start - 1, 0)]
    starts_field = (start == 0) | (before == LF) | (before == ord(delimiter))
    after = data[np.minimum(end, len(data) - 1)]
    ends_field = (end == len(data)) | np.isin(after, (LF, CR, ord(delimiter)))
    return bool(np.all(starts_field | ~opens) and np.all(ends_field | ~closes))


def _arrow_table(
    block: bytes, delimiter: str, width: int, types: dict[int, pa.DataType]
) -> pa.Table | None:
    """The block's columns by pyarrow: as `types` says (_types), else as dictionary-encoded
    text; those as float64 where every value parses to one (else the block is read again with
    them as text). None when pyarrow may not read it as the csv module would."""
    quoted = b'"' in block
    if width < 2 or b"\x00" in block or (quoted and not _quotes_are_plain(block, delimiter)):
        return None  # NUL bytes, and odd quotes, follow the csv module's rules only there
    # (`in` first: it is memchr, where count looks at every byte, 0.09 against 0.58 s a GB)
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None  # a lone CR: the csv module refuses it inside a value
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(column_names=names, block_size=PARSE_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoted else False,
                double_quote=True,
                newlines_in_values=quoted,
                ignore_empty_lines=False,  # a line each row: see _lines
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: types.get(i, TEXT) for i, name in enumerate(names)},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except pa.ArrowInvalid:  # a ragged row, bytes that are not UTF-8: the row reader says where
        return _arrow_table(block, delimiter, width, _texts(types)) if _numbers(types) else None
    table = table.unify_dictionaries()  # one dictionary a column, in order of first appearance
    limit = csv.field_size_limit()
    texts = (_values(c) for c in table.columns if c.num_chunks and not _is_numbers(c))
    if any((pc.max(pc.binary_length(values)).as_py() or 0) >= limit for values in texts):
        return None  # the csv module refuses a field that long: it names the line
    if _holds_empty_row(table):
        return None  # maybe an empty line, which pyarrow took for a row: see _lines
    return table


def _holds_empty_row(table: pa.Table) -> bool:
    """Whether a row of the table is empty in every column: an empty line, as pyarrow reads
    it (ignore_empty_lines=False), or a line of delimiters alone. Looked for row by row only
    where every column has an empty value (a number parsed has none)."""
    if any(_is_numbers(c) or not c.num_chunks for c in table.columns):
        return False
    texts = sorted(table.columns, key=lambda c: c.type != TEXT)  # the cheap look first
    if not all(pc.any(pc.equal(_values(c), "")).as_py() for c in texts):
        return False
    rows = np.ones(table.num_rows, bool)
    for column in texts:
        rows &= pc.equal(column, "").to_numpy(zero_copy_only=False)
    return bool(rows.any())


def _is_numbers(column: pa.ChunkedArray) -> bool:
    return pa.types.is_floating(column.type)


def _values(column: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A text column's distinct values (dictionary-encoded), or all of them (plain)."""
    return column.chunk(0).dictionary if column.type == TEXT else column


def add_table(sink: RowSink, columns: Sequence[pa.ChunkedArray], n: int, lines: int) -> None:
    """`n` rows, as columns of text (dictionary-encoded or not) or of numbers, taken from
    `lines` lines."""
    # Offsets in the table where a chunk of rows of the file ends.
    ends = list(range(sink.room(), n + 1, sink.chunk_rows))
    # Each column's summary is its own: they are summed side by side, pyarrow and NumPy
    # leaving the GIL for the work.
    summed = COLUMN_THREADS.map(
        lambda pair: add_column(*pair, ends), zip(sink.summaries, columns, strict=True)
    )
    list(summed)  # raises what a column raised
    sink.n_rows += n
    sink.in_chunk = (sink.in_chunk + n) % sink.chunk_rows
    sink.lines_read += lines


def add_column(summary: ColumnSummary, raw: pa.ChunkedArray, ends: Sequence[int]) -> None:
    """ColumnSummary.add_values for a column of consecutive rows, calling `end_chunk` at each
    of `ends` (offsets where a chunk of the file ends). Text is summed by its distinct values:
    each is stripped, looked up among the missing spellings, counted and parsed once, and
    the rows only say which value they hold."""
    if _is_numbers(raw):  # parsed to numbers: no text to count (_types)
        summary.tally_skipped = True
        _add_numbers(summary, raw.to_numpy(), ends)
        return
    values = _Distinct(raw)
    summary.missing += values.n_missing
    numbers = values.numbers() if summary.numeric and values.n_present else None
    if numbers is None and values.n_present:
        summary.numeric = False
    if numbers is not None and not values.n_missing and _counts_no_text(summary):
        summary.tally_skipped = True  # numbers past the cap: nothing shows their counts
    else:
        _count(summary, values)
    cuts = ends
    if values.n_missing and numbers is not None:  # where the chunks end among the present values
        cuts = np.searchsorted(np.flatnonzero(values.present_rows), ends).tolist()
    _add_numbers(summary, numbers, cuts)


class _Distinct:
    """A column's rows as the index of their value among its distinct values (`keys`, in
    order of first appearance, stripped as str.strip strips), with how many rows hold each
    (`tally`) and which of them are missing."""

    def __init__(self, raw: pa.ChunkedArray):
        if raw.type != TEXT:  # plain text (a column past the cap, a Parquet file's)
            raw = pc.dictionary_encode(raw)  # one dictionary for all chunks, as _arrow_table's
        column = raw.combine_chunks() if raw.num_chunks else pa.array([], TEXT)
        keys, index = column.dictionary, column.indices.to_numpy()
        stripped = pc.utf8_trim(keys, WHITESPACE)
        if not stripped.equals(keys):  # two spellings may now be one value
            merged = pc.dictionary_encode(stripped)
            keys, index = merged.dictionary, merged.indices.to_numpy()[index]
        tally = np.bincount(index, minlength=len(keys))
        missing = pc.is_in(keys, value_set=MISSING_VALUES).to_numpy(zero_copy_only=False)
        self.index, self.key_missing = index, missing
        self.n_missing = int(tally[missing].sum())
        self.n_present = len(index) - self.n_missing
        self.counted = (tally > 0) & ~missing  # the keys `keys` and `tally` keep
        self.keys, self.tally = keys.filter(pa.array(self.counted)), tally[self.counted]

    @cached_property
    def present_rows(self) -> np.ndarray:
        return ~self.key_missing[self.index]

    def numbers(self) -> np.ndarray | None:
        """Each present row's value as float64 when every one is a finite number, else None."""
        parsed = _finite_numbers(self.keys)
        if parsed is None:
            return None
        by_key = np.zeros(len(self.counted))
        by_key[self.counted] = parsed
        index = self.index[self.present_rows] if self.n_missing else self.index
        return by_key[index]


def _add_numbers(summary: ColumnSummary, numbers: np.ndarray | None, cuts: Sequence[int]) -> None:
    """The numbers of the present values, cut where chunks end (`cuts`: how many of them come
    before each end), calling `end_chunk` at each."""
    start = 0
    for cut in cuts:
        if numbers is not None and cut > start:
            summary.chunk_numbers.append(numbers[start:cut])
        summary.end_chunk()
        start = cut
    if numbers is not None and len(numbers) > start:
        summary.chunk_numbers.append(numbers[start:])


def _finite_numbers(present: pa.Array) -> np.ndarray | None:
    """The values (a column's distinct values) as float64 when every one is a finite number,
    else None; pyarrow's cast where it parses them (to the same double as float(): both round
    correctly), float() where it does not (it also takes '1_000', digits of other scripts)."""
    try:
        numbers = pc.cast(present, pa.float64()).to_numpy()
    except pa.ArrowInvalid:
        return schema.finite_numbers(present.to_pylist())
    return numbers if np.isfinite(numbers).all() else None


def add_tally(summary: ColumnSummary) -> None:
    """Fold the counts tallied by index into the Counter (its values only: no new keys)."""
    if summary.known_values is not None:
        for value, n in zip(summary.counts, summary.known_tally.tolist(), strict=True):
            summary.counts[value] += n


def _count(summary: ColumnSummary, values: _Distinct) -> None:
    """ColumnSummary._count for the values that are not missing: every distinct value counted,
    until DISTINCT_CAP of them; then only those (admitted in the order they first appear)."""
    counts, cap = summary.counts, schema.DISTINCT_CAP
    if not len(values.keys):
        return
    if len(counts) >= cap:  # the counted values no longer change: tallied by their index
        if summary.known_values is None:
            summary.known_values = pa.array(list(counts), pa.string())
            summary.known_tally = np.zeros(len(counts), np.int64)
        index = pc.index_in(values.keys, value_set=summary.known_values).to_numpy(
            zero_copy_only=False
        )
        known = ~np.isnan(index)
        if not known.all():
            summary.distinct_capped = True
        np.add.at(summary.known_tally, index[known].astype(np.int64), values.tally[known])
        return
    pairs = zip(values.keys.to_pylist(), values.tally.tolist(), strict=True)
    if len(counts) + len(values.keys) <= cap:
        counts.update(dict(pairs))
        return
    summary.admit(pairs)
