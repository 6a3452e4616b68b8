"""Metric points packed per series and block of BLOCK_STEPS steps (MetricChunk): the codec, the
merge of a written batch into the stored chunks (and their MetricBlocks), and the exact reads.
Every reader and writer of points goes through here (runs.services, runs.selectors).

Why chunks: one row per point cost ~160 bytes at rest (a tuple header, an id and its index, the
name in every row and in the unique index); packed, a point costs its value, its wall time and a
bit (bench/metrics_write), and a batch rewrites a few rows per series instead of inserting a
row per point."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from django.db import connection

from .models import BLOCK_STEPS, MetricBlock, MetricChunk

CHUNKS = MetricChunk._meta.db_table
BLOCKS = MetricBlock._meta.db_table
FIRST_STEP = -(2**31)  # below every step: the `since_step` of a read from the start
LAST_STEP = 2**31 - 1  # no step is past this: the `until_step` of a read to the end
_PACKED = "step_bits, value_bytes, wall_base, wall_bytes"


@dataclass
class Points:
    """Points of one series, by step: parallel int64 / float64 / float64 arrays."""

    steps: np.ndarray
    values: np.ndarray
    walls: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    def where(self, keep: np.ndarray) -> Points:
        """The points `keep` selects (an array not read stays empty)."""
        return Points(*(a[keep] if len(a) else a for a in (self.steps, self.values, self.walls)))


def _empty() -> Points:
    return Points(np.empty(0, np.int64), np.empty(0), np.empty(0))


# --- the codec ---------------------------------------------------------------------------


def _float32_if_exact(array: np.ndarray, base: float = 0.0) -> bytes:
    """`array - base` as float32 when that gives every value back exactly, else `array` as
    float64 (the reader tells the two apart by their length), byte-shuffled and deflated."""
    with np.errstate(over="ignore", invalid="ignore"):  # past float32: float64 it is
        small = (array - base).astype("<f4")
    exact = np.array_equal(small.astype(np.float64) + base, array, equal_nan=True)
    return _deflate(small if exact else array.astype("<f8"))


def _deflate(array: np.ndarray) -> bytes:
    """The array's bytes grouped by their place in a number (every first byte, then every
    second, ...), then deflated: the sign, exponent and leading digits of a series' numbers
    change little from one to the next, so these runs of bytes pack well (lossless)."""
    shuffled = array.view(np.uint8).reshape(len(array), array.itemsize).T.tobytes()
    return zlib.compress(shuffled, 1)


def pack(block: int, points: Points) -> tuple[bytes, bytes, float, bytes]:
    """(step_bits, value_bytes, wall_base, wall_bytes) of a chunk's points (sorted, unique
    steps, all in `block`)."""
    bits = np.zeros(BLOCK_STEPS, np.uint8)
    bits[points.steps - (block * BLOCK_STEPS + 1)] = 1
    base = float(points.walls[0])
    return (
        np.packbits(bits).tobytes(),
        _float32_if_exact(points.values),
        base,
        _float32_if_exact(points.walls, base),
    )


def _floats(data, n: int, base: float | None = None) -> np.ndarray:
    """Values _float32_if_exact packed: float32 ones are offsets from `base`, if given."""
    raw = zlib.decompress(data)
    size = len(raw) // n
    grouped = np.frombuffer(raw, np.uint8).reshape(size, n).T.copy()
    values = grouped.view(f"<f{size}").ravel().astype(np.float64)
    return values + base if size == 4 and base is not None else values


def unpack(block: int, step_bits, value_bytes, wall_base, wall_bytes) -> Points:
    """A chunk's points; its wall times come back empty when `wall_bytes` is None (not read)."""
    offsets = np.flatnonzero(np.unpackbits(np.frombuffer(step_bits, np.uint8)))
    n = len(offsets)
    return Points(
        offsets.astype(np.int64) + (block * BLOCK_STEPS + 1),
        _floats(value_bytes, n) if value_bytes is not None else np.empty(0),
        _floats(wall_bytes, n, wall_base) if wall_bytes is not None else np.empty(0),
    )


def _concat(parts: list[Points]) -> Points:
    if not parts:
        return _empty()
    return Points(*(np.concatenate([getattr(p, f) for p in parts]) for f in Points.__annotations__))


# --- writes --------------------------------------------------------------------------------


# Taken first by every transaction that changes a run's chunks, so that two writers of one run
# take turns: each merges its batch into the chunks the other committed (PostgreSQL; SQLite's
# IMMEDIATE transactions hold the database's write lock already). NO KEY: the foreign key checks
# of other writes to the run do not wait for it.
_LOCK_RUN = "SELECT id FROM runs_run WHERE id = %s FOR NO KEY UPDATE"


def lock_run(cursor, run_id: int) -> None:
    """Hold the run's row until the transaction ends (see _LOCK_RUN)."""
    if connection.vendor == "postgresql":
        cursor.execute(_LOCK_RUN, [run_id])


def chunks_record(cursor, run_id: int, points: list[tuple[str, int, float, float]]) -> None:
    """Merge (name, step, value, wall_time) points into the run's chunks, in the caller's
    transaction: the run locked and the touched chunks read in one round trip, merged here (a
    step already stored keeps its first value, as does a step given twice in the batch), and
    written back with their MetricBlocks in another (PostgreSQL; SQLite: a statement each)."""
    batch = _by_chunk(points)
    stored = _chunks_read(cursor, run_id, _spans(batch), lock=True)
    merged = {}
    for key, new in batch.items():
        old = stored.get(key)
        merged[key] = _unique_first(_concat([old, new]) if old is not None else new)
    _chunks_write(cursor, run_id, merged)


def _by_chunk(points: list[tuple]) -> dict[tuple[str, int], Points]:
    """The batch split by (name, block), each part in the batch's order."""
    names, steps, values, walls = zip(*points, strict=True)
    steps = np.array(steps, np.int64)
    name_list = sorted(set(names))
    number = {name: i for i, name in enumerate(name_list)}
    name_index = np.fromiter(map(number.__getitem__, names), np.int64, len(names))
    blocks = (steps - 1) // BLOCK_STEPS
    key = name_index * 2**33 + (blocks + 2**32)  # steps are int32: fits
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    values, walls = np.array(values, np.float64), np.array(walls, np.float64)
    parts = {}
    for part in np.split(order, bounds):
        first = part[0]
        parts[(name_list[name_index[first]], int(blocks[first]))] = Points(
            steps[part], values[part], walls[part]
        )
    return parts


def _unique_first(points: Points) -> Points:
    """By step, each step once: its first occurrence (np.unique's sort is stable)."""
    _, first = np.unique(points.steps, return_index=True)
    return points.where(first)


def _spans(keys: Iterable[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(name, first block, last block) of each run of consecutive (name, block) keys."""
    spans: list[tuple[str, int, int]] = []
    for name, block in sorted(keys):
        if spans and spans[-1][0] == name and spans[-1][2] == block - 1:
            spans[-1] = (name, spans[-1][1], block)
        else:
            spans.append((name, block, block))
    return spans


def _chunks_read(cursor, run_id: int, spans: list[tuple[str, int, int]], lock: bool) -> dict:
    """The stored points of the run's chunks in the (name, first, last block) spans; with
    `lock`, the run's row locked first, in the same round trip on PostgreSQL."""
    found = {}
    per_statement = min(300, (connection.features.max_query_params or 10_000) // 3 - 1)
    locking = lock and connection.vendor == "postgresql"
    for start in range(0, len(spans), per_statement):
        chunk = spans[start : start + per_statement]
        where = " OR ".join(["(name = %s AND block BETWEEN %s AND %s)"] * len(chunk))
        sql = f"SELECT name, block, {_PACKED} FROM {CHUNKS} WHERE run_id = %s AND ({where})"
        params = [run_id, *(value for span in chunk for value in span)]
        if locking and start == 0:  # psycopg2 answers with the last statement's rows
            sql, params = f"{_LOCK_RUN}; {sql}", [run_id, *params]
        cursor.execute(sql, params)
        for name, block, *packed in cursor.fetchall():
            found[(name, block)] = unpack(block, *packed)
    return found


_CHUNK_COLUMNS = "run_id, name, block, n, step_bits, value_bytes, wall_base, wall_bytes"
_BLOCK_COLUMNS = (
    "run_id, name, block, n, lo_step, lo_value, hi_step, hi_value, last_step, last_value"
)


def _upserts(table: str, columns: str, rows: list[tuple]) -> list[tuple[str, list]]:
    """(sql, params) of INSERTs of the rows, replacing those of the same (run_id, name, block):
    one statement per as many rows as the database takes parameters for (SQLite: 999)."""
    names = [c.strip() for c in columns.split(",")]
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    update = ", ".join(f"{c} = excluded.{c}" for c in names[3:])
    per_statement = max(1, min(500, (connection.features.max_query_params or 10_000) // len(names)))
    return [
        (
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} "
            f"ON CONFLICT (run_id, name, block) DO UPDATE SET {update}",
            [value for row in chunk for value in row],
        )
        for chunk in (rows[i : i + per_statement] for i in range(0, len(rows), per_statement))
    ]


def _chunks_write(cursor, run_id: int, chunks: dict[tuple[str, int], Points]) -> None:
    """Store these chunks' points (each non-empty, by unique step) and their MetricBlocks, in
    one round trip on PostgreSQL."""
    chunk_rows = [
        (run_id, name, block, len(p), *pack(block, p)) for (name, block), p in chunks.items()
    ]
    block_rows = [  # steps below 1 belong to no block
        (run_id, name, block, *block_summary(p))
        for (name, block), p in chunks.items()
        if block >= 0
    ]
    statements = _upserts(CHUNKS, _CHUNK_COLUMNS, chunk_rows)
    statements += _upserts(BLOCKS, _BLOCK_COLUMNS, block_rows)
    if connection.vendor == "postgresql" and statements:
        statements = [("; ".join(s for s, _ in statements), [v for _, p in statements for v in p])]
    for sql, params in statements:
        cursor.execute(sql, params)


def block_summary(points: Points) -> tuple:
    """(n, lo_step, lo_value, hi_step, hi_value, last_step, last_value) of a MetricBlock: the
    lowest and highest point, the earliest on a tie, ordered as PostgreSQL orders floats (NaN
    above every number), and the last point."""
    values = points.values
    nan = np.isnan(values)
    lo = int(np.argmin(np.where(nan, np.inf, values))) if not nan.all() else 0
    hi = int(np.argmax(nan)) if nan.any() else int(np.argmax(values))
    return (
        len(points),
        *(x for i in (lo, hi, -1) for x in (int(points.steps[i]), float(values[i]))),
    )


def _chunks_cut(cursor, run_id: int, step: int) -> dict[tuple[str, int], Points]:
    """The points up to `step` of the run's chunks that `step` ends inside (the block of
    step + 1), by (name, block); none when `step` ends a block."""
    block = step // BLOCK_STEPS  # the block of step + 1
    cursor.execute(
        f"SELECT name, {_PACKED} FROM {CHUNKS} WHERE run_id = %s AND block = %s", [run_id, block]
    )
    kept = {}
    for name, *packed in cursor.fetchall():
        points = unpack(block, *packed)
        points = points.where(points.steps <= step)
        if len(points):
            kept[(name, block)] = points
    return kept


def chunks_discard_after(cursor, run_id: int, step: int) -> None:
    """Drop the run's points past `step`, and the MetricBlocks past it; the block that `step`
    ends inside is rewritten with the points it keeps. Under the run's lock, in a transaction."""
    cut = step // BLOCK_STEPS
    kept = _chunks_cut(cursor, run_id, step)
    cursor.execute(f"DELETE FROM {CHUNKS} WHERE run_id = %s AND block >= %s", [run_id, cut])
    cursor.execute(f"DELETE FROM {BLOCKS} WHERE run_id = %s AND block >= %s", [run_id, cut])
    _chunks_write(cursor, run_id, kept)


def chunks_copy(cursor, source_id: int, run_id: int, step: int) -> None:
    """Copy the source run's points up to `step` to `run_id`, with their MetricBlocks: whole
    chunks and blocks in the database, the one that `step` ends inside cut here."""
    cut = step // BLOCK_STEPS
    for table, columns in ((CHUNKS, _CHUNK_COLUMNS), (BLOCKS, _BLOCK_COLUMNS)):
        rest = columns.split(", ", 1)[1]
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT %s, {rest} FROM {table} "
            "WHERE run_id = %s AND block < %s",
            [run_id, source_id, cut],
        )
    _chunks_write(cursor, run_id, _chunks_cut(cursor, source_id, step))


# --- reads ---------------------------------------------------------------------------------


def _block_range(since_step: int, until_step: int) -> tuple[int, int]:
    """The first and last block holding steps in (since_step, until_step]."""
    return since_step // BLOCK_STEPS, (until_step - 1) // BLOCK_STEPS


def series_points(
    run_id: int,
    name: str,
    since_step: int = FIRST_STEP,
    until_step: int = LAST_STEP,
    *,
    walls: bool = True,
) -> Points:
    """Every point of the series after `since_step` and up to `until_step`, by step (without
    their wall times, which are then not read, when walls=False)."""
    return series_points_many(run_id, [name], since_step, until_step, walls=walls)[name]


def series_points_many(
    run_id: int,
    names: list[str],
    since_step: int,
    until_step: int,
    max_chunks: int | None = None,
    *,
    walls: bool = False,
) -> dict[str, Points] | None:
    """Every point of each named series in (since_step, until_step], read in one query (a
    live page's poll of a few series); None when they span more than `max_chunks` chunks."""
    wall_column = "wall_bytes" if walls else "NULL"
    limit = "" if max_chunks is None else f" LIMIT {int(max_chunks) + 1}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name, block, step_bits, value_bytes, wall_base, {wall_column} FROM {CHUNKS} "
            f"WHERE run_id = %s AND name IN ({', '.join(['%s'] * len(names))}) "
            f"AND block BETWEEN %s AND %s ORDER BY name, block{limit}",
            [run_id, *names, *_block_range(since_step, until_step)],
        )
        rows = cursor.fetchall()
    if max_chunks is not None and len(rows) > max_chunks:
        return None
    found = {name: [] for name in names}
    for name, *chunk in rows:
        found[name].append(unpack(*chunk))
    return {
        name: (points := _concat(parts)).where(
            (points.steps > since_step) & (points.steps <= until_step)
        )
        for name, parts in found.items()
    }


def series_count_at_most(run_id: int, name: str, since_step: int, until_step: int) -> int:
    """How many points the chunks holding steps in (since_step, until_step] hold, from their
    counts: the points in that range, and up to BLOCK_STEPS - 1 more at each end."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(n) FROM {CHUNKS} WHERE run_id = %s AND name = %s "
            "AND block BETWEEN %s AND %s",
            [run_id, name, *_block_range(since_step, until_step)],
        )
        return cursor.fetchone()[0] or 0


def series_first_step(run_id: int, name: str, since_step: int, until_step: int) -> int | None:
    """The first step of the series in (since_step, until_step], from the first two chunks in
    that range (only the first can hold nothing past since_step)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT block, step_bits, NULL, 0, NULL FROM {CHUNKS} WHERE run_id = %s "
            "AND name = %s AND block BETWEEN %s AND %s ORDER BY block LIMIT 2",
            [run_id, name, *_block_range(since_step, until_step)],
        )
        steps = _concat([unpack(*row) for row in cursor.fetchall()]).steps
    steps = steps[(steps > since_step) & (steps <= until_step)]
    return int(steps[0]) if len(steps) else None


def series_first_wall(run_id: int, name: str) -> float | None:
    """The wall time of the series' first point (None when it has none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT block, step_bits, NULL, wall_base, wall_bytes FROM {CHUNKS} "
            "WHERE run_id = %s AND name = %s ORDER BY block LIMIT 1",
            [run_id, name],
        )
        row = cursor.fetchone()
    return None if row is None else float(unpack(*row).walls[0])


def series_walls_at(run_id: int, name: str, steps: list[int]) -> dict[int, float]:
    """The wall time of each of `steps` that the series holds a point at, reading only the
    chunks those steps fall in."""
    blocks = sorted({(step - 1) // BLOCK_STEPS for step in steps})
    walls: dict[int, float] = {}
    wanted = np.array(steps, np.int64)
    with connection.cursor() as cursor:
        for i in range(0, len(blocks), 500):  # well under SQLite's limit on query parameters
            some = blocks[i : i + 500]
            cursor.execute(
                f"SELECT block, step_bits, NULL, wall_base, wall_bytes FROM {CHUNKS} "
                f"WHERE run_id = %s AND name = %s AND block IN ({', '.join(['%s'] * len(some))})",
                [run_id, name, *some],
            )
            for row in cursor.fetchall():
                points = unpack(*row)
                keep = np.isin(points.steps, wanted)
                walls.update(
                    zip(points.steps[keep].tolist(), points.walls[keep].tolist(), strict=True)
                )
    return walls


def series_names(run_ids: list[int]) -> list[str]:
    """The names of the series that these runs hold points of, sorted."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT name FROM {CHUNKS} "
            f"WHERE run_id IN ({', '.join(['%s'] * len(run_ids))}) ORDER BY name",
            list(run_ids),
        )
        return [row[0] for row in cursor.fetchall()]


def points_count(run_id: int, name: str | None = None) -> int:
    """How many points the run holds (of series `name` only, when given)."""
    where, params = (
        ("run_id = %s", [run_id]) if name is None else ("run_id = %s AND name = %s", [run_id, name])
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT SUM(n) FROM {CHUNKS} WHERE {where}", params)
        return cursor.fetchone()[0] or 0


def run_points(run_id: int) -> Iterator[tuple[str, int, float, float]]:
    """Every point of the run as (name, step, value, wall_time), by step then name, read a
    block at a time (on PostgreSQL through a server-side cursor)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT block, name, {_PACKED} FROM {CHUNKS} WHERE run_id = %s ORDER BY block, name",
            [run_id],
        )
        block, names, parts = None, [], []
        while rows := cursor.fetchmany(500):
            for row_block, name, *packed in rows:
                if row_block != block and parts:
                    yield from _block_points(names, parts)
                    names, parts = [], []
                block = row_block
                names.append(name)
                parts.append(unpack(row_block, *packed))
        yield from _block_points(names, parts)


def _block_points(names: list[str], parts: list[Points]) -> Iterator[tuple]:
    """The points of one block's series (in name order) as tuples, by step then name."""
    if not parts:
        return
    points = _concat(parts)
    which = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    order = np.lexsort((which, points.steps))
    steps, values, walls = (a[order].tolist() for a in (points.steps, points.values, points.walls))
    for name_at, step, value, wall in zip(which[order].tolist(), steps, values, walls, strict=True):
        yield names[name_at], step, value, wall
