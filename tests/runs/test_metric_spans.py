"""Metric spans: the coarse level of SPAN_BLOCKS blocks, kept with the blocks, and the read of a
whole long series merged from them."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from downhill.runs.models import SPAN_BLOCKS, SPAN_STEPS, MetricBlock, MetricChunk, MetricSpan
from downhill.runs.selectors import run_metrics_series
from downhill.runs.services import run_discard_after, run_queue

from .test_metric_blocks import noisy, record

pytestmark = pytest.mark.django_db


def stored_spans(run) -> dict:
    return {
        (s.name, s.span): (s.n, s.lo_step, s.lo_value, s.hi_step, s.hi_value, s.last_step, s.last_value)
        for s in MetricSpan.objects.filter(run=run)
    }  # fmt: skip


def spans_from_blocks(run) -> dict:
    """The spans aggregated in Python from the stored blocks (ties: the earliest step)."""
    spans: dict = {}
    for b in MetricBlock.objects.filter(run=run).order_by("name", "block"):
        key = (b.name, b.block // SPAN_BLOCKS)
        if key not in spans:
            spans[key] = (
                b.n,
                b.lo_step,
                b.lo_value,
                b.hi_step,
                b.hi_value,
                b.last_step,
                b.last_value,
            )
            continue
        n, lo_step, lo_value, hi_step, hi_value, _, _ = spans[key]
        if b.lo_value < lo_value:
            lo_step, lo_value = b.lo_step, b.lo_value
        if b.hi_value > hi_value:
            hi_step, hi_value = b.hi_step, b.hi_value
        spans[key] = (n + b.n, lo_step, lo_value, hi_step, hi_value, b.last_step, b.last_value)
    return spans  # fmt: skip


def exact(run) -> bool:
    return stored_spans(run) == spans_from_blocks(run)


# ---- Writes keep the spans exact ----


def test_spans_equal_the_aggregate_of_their_blocks_after_batched_writes(run):
    # Batches that straddle spans, a value tied across blocks of one span, a per-epoch series.
    record(run, "train_loss", range(1, 5001), noisy, batch=333)
    record(run, "val_loss", range(100, 5001, 100), lambda s: 1.0 / s)

    assert exact(run)
    assert len(stored_spans(run)) == 2 * 5  # 5,000 steps: spans 0-4 of each series
    assert stored_spans(run)[("train_loss", 4)][0] == 5000 - 4 * SPAN_STEPS


def test_spans_stay_exact_when_a_write_is_retried_or_overlaps_stored_points(run):
    record(run, "train_loss", range(1, 3001), noisy)
    record(run, "train_loss", range(2001, 3001), lambda s: 99.0)  # retried: kept as stored
    record(run, "train_loss", range(2500, 4001), lambda s: -5.0 if s == 3500 else 1.0)

    assert exact(run)
    assert 99.0 not in {s[4] for s in stored_spans(run).values()}
    assert stored_spans(run)[("train_loss", 3)][1:3] == (3500, -5.0)


@pytest.mark.parametrize("kept", [0, 700, SPAN_STEPS, SPAN_STEPS + 300, 3000])
def test_run_discard_after_recomputes_the_span_it_cuts_and_drops_the_later_ones(run, kept):
    record(run, "train_loss", range(1, 3601), lambda s: 50.0 if s == 2900 else noisy(s))
    record(run, "val_loss", range(100, 3601, 100), lambda s: 1.0 / s)

    run_discard_after(run.id, kept)

    spans = stored_spans(run)
    assert exact(run)
    assert max((s[5] for s in spans.values()), default=0) == kept
    assert sum(s[0] for s in spans.values()) == sum(
        MetricChunk.objects.filter(run=run).values_list("n", flat=True)
    )
    assert (50.0 in {s[4] for s in spans.values()}) == (kept >= 2900)


def test_a_resumed_attempt_writing_past_the_discard_leaves_exact_spans(run):
    record(run, "train_loss", range(1, 3001), lambda s: 9.0)
    run_discard_after(run.id, 1500)
    record(run, "train_loss", range(1501, 4001), noisy)  # the new attempt's points

    assert exact(run)
    assert MetricSpan.objects.get(run=run, name="train_loss", span=1).hi_value == 9.0
    assert MetricSpan.objects.get(run=run, name="train_loss", span=2).hi_value < 9.0


def test_a_resumed_run_carries_the_spans_of_the_points_it_carries(run):
    record(run, "train_loss", range(1, 3001), noisy)
    run.status = "cancelled"
    run.save()

    going_on = run_queue(experiment=run.experiment, resumed_from=run, resumed_from_step=2100)

    assert exact(going_on) and stored_spans(going_on)
    assert max(s[5] for s in stored_spans(going_on).values()) == 2100


def test_the_migration_backfills_the_spans_of_blocks_stored_before_it(run):
    backfill = importlib.import_module("downhill.runs.migrations.0008_metric_spans")
    record(run, "train_loss", range(1, 5001), noisy)
    record(run, "lr", range(1, 3001), lambda s: 0.1)
    MetricSpan.objects.all().delete()  # as before the migration: blocks without spans

    backfill.backfill_metric_spans(apps, SimpleNamespace(connection=connection))

    assert exact(run)
    assert MetricSpan.objects.count() == 5 + 3


# ---- A whole long series is read from its spans ----

LONG = 40 * SPAN_STEPS  # 40 spans, 160 blocks
SPIKE, DIP = 30_001, 7_777


def long_value(step: int) -> float:
    return {SPIKE: 50.0, DIP: -10.0}.get(step, 2.0 / (1 + step / 2000) + (step * 7919 % 13) / 100)


@pytest.fixture
def long_run(run):
    record(run, "train_loss", range(1, LONG + 1), long_value, batch=4000)
    return run


def expected(buckets: int) -> list[tuple[int, float]]:
    """Each bucket of whole spans' lowest, highest and last point, from the values themselves."""
    chosen: dict[int, list] = {}
    for step in range(1, LONG + 1):
        value, key = long_value(step), ((step - 1) // SPAN_STEPS) * buckets // 40
        low, high, _ = chosen.setdefault(key, [(step, value), (step, value), None])
        chosen[key] = [min(low, (step, value), key=lambda p: p[1]),
                       max(high, (step, value), key=lambda p: p[1]), (step, value)]  # fmt: skip
    return sorted({point for bucket in chosen.values() for point in bucket})


def read_logged(run, **kwargs) -> tuple[list[tuple[int, float]], str]:
    with CaptureQueriesContext(connection) as queries:
        series = run_metrics_series(run, ["train_loss"], **kwargs)["train_loss"]
    return list(zip(series["steps"], series["values"], strict=True)), " ".join(
        q["sql"] for q in queries
    )


@pytest.mark.parametrize("max_points", [60, 120])
def test_a_whole_long_series_is_merged_from_its_spans_exactly(long_run, max_points):
    points, sql = read_logged(long_run, max_points=max_points)

    assert "runs_metricspan" in sql and "runs_metricblock" not in sql
    assert points == expected(max_points // 3)
    assert (SPIKE, 50.0) in points and (DIP, -10.0) in points and points[-1][0] == LONG


def test_a_series_with_fewer_spans_than_buckets_is_merged_from_its_blocks(long_run):
    points, sql = read_logged(long_run, max_points=150)  # 50 buckets, 40 spans, 160 blocks

    assert "runs_metricblock" in sql
    assert len(points) <= 150 and (SPIKE, 50.0) in points and points[-1][0] == LONG


@pytest.mark.parametrize("window", [{"since_step": 5000}, {"until_step": LONG - 10}])
def test_a_range_of_a_long_series_is_merged_from_its_blocks_not_its_spans(long_run, window):
    points, sql = read_logged(long_run, max_points=60, **window)

    assert "runs_metricblock" in sql
    assert points[0][0] > window.get("since_step", 0)
    assert (SPIKE, 50.0) in points
