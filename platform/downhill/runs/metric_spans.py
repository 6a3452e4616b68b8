"""Keeping MetricSpans, the coarse level above MetricBlocks: each the aggregate of SPAN_BLOCKS
blocks of one series. Recomputed from the blocks (never from the points) in the transaction
that changed them, so a span is exact whatever happened before: a retried write, a discard."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from .models import SPAN_BLOCKS, SPAN_STEPS

# Every (series, span) of the run with a block in spans [first, last] gets its MetricSpan
# recomputed from its blocks. Portable SQL (PostgreSQL and SQLite): each extreme is found by
# value, then its step (the earliest on a tie) looked up among the span's blocks.
_IN_SPAN = (
    "FROM runs_metricblock AS b WHERE b.run_id = s.run_id AND b.name = s.name "
    "AND b.block BETWEEN s.first_block AND s.last_block"
)
_SPANS_DELETE = "DELETE FROM runs_metricspan WHERE run_id = %s AND span BETWEEN %s AND %s"
_SPANS_INSERT = f"""
INSERT INTO runs_metricspan
    (run_id, name, span, n, lo_step, lo_value, hi_step, hi_value, last_step, last_value)
SELECT run_id, name, span, n,
    (SELECT MIN(b.lo_step) {_IN_SPAN} AND b.lo_value = s.lo_value), lo_value,
    (SELECT MIN(b.hi_step) {_IN_SPAN} AND b.hi_value = s.hi_value), hi_value,
    last_step, (SELECT b.last_value {_IN_SPAN} AND b.last_step = s.last_step)
FROM (
    SELECT run_id, name, block / {SPAN_BLOCKS} AS span, SUM(n) AS n,
        MIN(lo_value) AS lo_value, MAX(hi_value) AS hi_value,
        MIN(block) AS first_block, MAX(block) AS last_block, MAX(last_step) AS last_step
    FROM runs_metricblock WHERE run_id = %s AND block BETWEEN %s AND %s
    GROUP BY run_id, name, block / {SPAN_BLOCKS}
) AS s
"""
LAST_SPAN = (2**31 - 1) // SPAN_STEPS


def metric_spans_refresh(run_id: int, first_step: int = 1, last_step: int | None = None) -> None:
    """Recompute the run's spans over steps [first_step, last_step] (to its end when None) from
    its blocks, every series: call it after the blocks of those steps changed (written, cut,
    deleted or copied), in the same transaction."""
    first = max(first_step - 1, 0) // SPAN_STEPS
    last = LAST_SPAN if last_step is None else max(last_step - 1, 0) // SPAN_STEPS
    with connection.cursor() as cursor:
        cursor.execute(_SPANS_DELETE, [run_id, first, last])
        cursor.execute(_SPANS_INSERT, [run_id, first * SPAN_BLOCKS, (last + 1) * SPAN_BLOCKS - 1])


def metric_spans_refresh_touched(run_id: int, points: Iterable[tuple]) -> None:
    """Recompute the spans that the (name, step, ...) points fall in (a batch is a second or two
    of training: one or two spans; the steps between its lowest and highest are redone too)."""
    steps = [point[1] for point in points]
    if steps:
        metric_spans_refresh(run_id, min(steps), max(steps))
