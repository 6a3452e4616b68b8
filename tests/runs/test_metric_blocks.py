"""Metric blocks: per-series summaries of 256 steps kept with the points, and the downsampled
read of a long series merged from them."""

from __future__ import annotations

import importlib
import threading
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection, transaction

from downhill.runs import selectors
from downhill.runs.metric_chunks import run_points
from downhill.runs.models import BLOCK_STEPS, MetricBlock
from downhill.runs.selectors import run_metrics_series
from downhill.runs.services import metrics_record, run_discard_after

pytestmark = pytest.mark.django_db


def record(run, name: str, steps, value, batch: int = 1000) -> None:
    """Points as the worker writes them: batches of about a second of training."""
    steps = list(steps)
    for start in range(0, len(steps), batch):
        chunk = steps[start : start + batch]
        metrics_record(run.id, [(name, s, value(s), 1.7e9 + s) for s in chunk])


def stored_blocks(run) -> dict:
    return {
        (b.name, b.block): (
            b.n, b.lo_step, b.lo_value, b.hi_step, b.hi_value, b.last_step, b.last_value
        )
        for b in MetricBlock.objects.filter(run=run)
    }  # fmt: skip


def blocks_from_points(run) -> dict:
    """The blocks recomputed in Python from the stored points (ties: the earliest step)."""
    blocks: dict = {}
    for name, step, value, _ in sorted(p for p in run_points(run.id) if p[1] >= 1):
        key = (name, (step - 1) // BLOCK_STEPS)
        n, lo_step, lo_value, hi_step, hi_value, _, _ = blocks.get(
            key, (0, step, value, step, value, step, value)
        )
        if value < lo_value:
            lo_step, lo_value = step, value
        if value > hi_value:
            hi_step, hi_value = step, value
        blocks[key] = (n + 1, lo_step, lo_value, hi_step, hi_value, step, value)
    return blocks


def noisy(step: int) -> float:
    """A decaying loss with a little deterministic noise, and ties between steps."""
    return round(2.0 / (1 + step / 500) + (step * 7919 % 13) / 100, 2)


# ---- Writes keep the blocks exact ----


def test_blocks_equal_the_aggregate_of_their_points_after_batches_with_duplicates(run):
    record(run, "train_loss", range(1, 701), noisy, batch=100)
    # A retried batch (other values: the stored ones stay), overlapping a new one.
    record(run, "train_loss", range(601, 1001), lambda s: -5.0 if s < 701 else noisy(s))
    record(run, "train_loss", range(1, 1001), lambda s: 99.0, batch=250)  # all duplicates
    record(run, "lr", range(1, 1001), lambda s: 0.1)  # a constant: every point ties
    # Sparse and out of order: one point per block, more spans than one statement takes.
    record(run, "val_loss", range(300 * 512, 0, -512), lambda s: 1.0 / s)
    record(run, "val_loss", [5, 0, -3], lambda s: 0.5)  # steps below 1 belong to no block

    blocks = stored_blocks(run)
    assert blocks == blocks_from_points(run)
    assert blocks[("train_loss", 0)][0] == BLOCK_STEPS, "a duplicate point was counted twice"
    assert blocks[("train_loss", 3)][0] == 1000 - 3 * BLOCK_STEPS
    assert -5.0 not in {b[2] for b in blocks.values()}, "a skipped point reached a block"
    assert blocks[("lr", 1)][1::2] == (257, 257, 512), "a tie goes to the earliest step"
    assert len([key for key in blocks if key[0] == "val_loss"]) == 300 + 1  # and step 5's


def test_a_block_keeps_its_lowest_highest_and_last_point_with_their_steps(run):
    values = {300: -1.0, 400: 7.0, 500: 0.25}
    record(run, "train_loss", range(257, 513), lambda s: values.get(s, 1.0))

    block = MetricBlock.objects.get(run=run, name="train_loss", block=1)

    assert (block.n, block.lo_step, block.lo_value, block.hi_step, block.hi_value) == (
        256, 300, -1.0, 400, 7.0
    )  # fmt: skip
    assert (block.last_step, block.last_value) == (512, 1.0)


@pytest.mark.parametrize("kept", [0, 256, 600, 1000])
def test_run_discard_after_recomputes_the_block_it_cuts_and_drops_the_later_ones(run, kept):
    record(run, "train_loss", range(1, 1201), lambda s: 50.0 if s == 700 else noisy(s))
    record(run, "val_loss", range(100, 1201, 100), lambda s: 1.0 / s)

    run_discard_after(run.id, kept)

    blocks = stored_blocks(run)
    assert blocks == blocks_from_points(run)
    assert max((b[5] for b in blocks.values()), default=0) == kept
    assert (50.0 in {b[4] for b in blocks.values()}) == (kept >= 700)


def test_a_resumed_attempt_writing_past_the_discard_leaves_exact_blocks(run):
    record(run, "train_loss", range(1, 1001), lambda s: 9.0)
    run_discard_after(run.id, 600)
    record(run, "train_loss", range(601, 1101), noisy)  # the new attempt's points

    assert stored_blocks(run) == blocks_from_points(run)
    assert MetricBlock.objects.get(run=run, name="train_loss", block=2).hi_value == 9.0
    assert MetricBlock.objects.get(run=run, name="train_loss", block=3).hi_value < 9.0


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_block_take_turns_so_that_neither_loses_its_points(run):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's write transactions take turns by themselves")
    record(run, "train_loss", range(1, 101), noisy)

    def second_writer():
        try:
            record(run, "train_loss", range(151, 201), lambda s: -1.0)
        finally:
            connection.close()  # this thread's own

    with transaction.atomic():
        record(run, "train_loss", range(101, 151), lambda s: 9.0)
        writer = threading.Thread(target=second_writer)
        writer.start()
        writer.join(0.5)  # it waits for this transaction to end
    writer.join()

    assert stored_blocks(run) == blocks_from_points(run)
    assert stored_blocks(run)[("train_loss", 0)][:5:2] == (200, -1.0, 9.0)


def test_the_migration_packs_the_points_rows_stored_before_it_into_chunks_exactly(run):
    chunks = importlib.import_module("downhill.runs.migrations.0007_metric_chunks")
    points = [
        (name, s, noisy(s) * k + (1e-9 if name == "lr" else 0.0), 1.7e9 + s * 0.37)
        for name, k in (("train_loss", 1.0), ("lr", 0.5), ("val_loss", 2.0))
        for s in range(-2, 2001, 1 if name != "val_loss" else 97)
    ]
    with connection.cursor() as cursor:  # the table as it was before the migration
        cursor.execute(
            "CREATE TABLE runs_metricpoint (run_id bigint, "
            "name varchar(64), step integer, value double precision, wall_time double precision)"
        )
        cursor.executemany(
            "INSERT INTO runs_metricpoint (run_id, name, step, value, wall_time) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(run.id, *point) for point in points],
        )
        chunks.points_to_chunks(apps, SimpleNamespace(connection=connection))
        cursor.execute("DELETE FROM runs_metricpoint")

        assert sorted(run_points(run.id)) == sorted(points)
        chunks.chunks_to_points(apps, SimpleNamespace(connection=connection))
        cursor.execute("SELECT name, step, value, wall_time FROM runs_metricpoint")
        assert sorted(cursor.fetchall()) == sorted(points)
        cursor.execute("DROP TABLE runs_metricpoint")


# ---- A long series is read from its blocks ----

LONG = 20_000  # 79 blocks
SPIKE, DIP = 15_555, 4_321


def long_value(step: int) -> float:
    return {SPIKE: 50.0, DIP: -10.0}.get(step, 2.0 / (1 + step / 2000) + (step % 7) / 100)


@pytest.fixture
def long_run(run):
    record(run, "train_loss", range(1, LONG + 1), long_value)
    return run


def read(run, **kwargs) -> list[tuple[int, float]]:
    series = run_metrics_series(run, ["train_loss"], **kwargs)["train_loss"]
    return list(zip(series["steps"], series["values"], strict=True))


def test_a_long_series_downsampled_keeps_its_min_max_spike_and_last_point(long_run):
    points = read(long_run, max_points=60)

    assert len(points) <= 60
    assert [s for s, _ in points] == sorted({s for s, _ in points})
    assert all(value == long_value(step) for step, value in points), "a point that is not stored"
    assert (DIP, -10.0) in points and (SPIKE, 50.0) in points
    assert points[-1] == (LONG, long_value(LONG))


def test_a_long_series_keeps_every_blocks_extremes_when_buckets_are_single_blocks(run):
    # A saw-tooth: every block dips to -1 at its 10th step and peaks at +5 at its 200th.
    steps = range(1, 40 * BLOCK_STEPS + 1)
    record(run, "train_loss", steps, lambda s: {10: -1.0, 200: 5.0}.get(s % BLOCK_STEPS, 0.5))

    points = read(run, max_points=3 * 40)

    values = [v for _, v in points]
    assert values.count(-1.0) == 40 and values.count(5.0) == 40
    assert len(points) == 3 * 40


def test_a_long_series_is_merged_from_its_block_summaries_not_read_point_by_point(long_run):
    # Pins the fast path: a summary changed behind the points' back shows in the read.
    MetricBlock.objects.filter(run=long_run, name="train_loss", block=30).update(
        hi_step=7_777, hi_value=123.0
    )

    # 30 buckets: more than the series' 20 spans (test_metric_spans), fewer than its 79 blocks.
    assert (7_777, 123.0) in read(long_run, max_points=90)


def test_a_long_series_after_since_step_reads_the_block_it_cuts_from_its_points(run):
    since = 20 * BLOCK_STEPS + 100  # inside block 20
    before, after = since - 50, since + 50  # in the same block, on either side of since_step
    extremes = {before: 99.0, after: -99.0}
    record(run, "train_loss", range(1, LONG + 1), lambda s: extremes.get(s, long_value(s)))

    points = read(run, max_points=60, since_step=since)

    assert len(points) <= 60
    assert points[0][0] > since
    assert (after, -99.0) in points, "the cut block's lowest point after since_step is lost"
    assert 99.0 not in [v for _, v in points], "a point before since_step came back"
    assert (SPIKE, 50.0) in points and points[-1][0] == LONG


def test_a_long_series_after_since_step_at_a_block_edge_reads_blocks_only(long_run):
    since = 40 * BLOCK_STEPS

    points = read(long_run, max_points=60, since_step=since)

    assert points[0][0] > since and points[-1][0] == LONG
    assert (SPIKE, 50.0) in points and (DIP, -10.0) not in points


def test_a_series_spanning_fewer_blocks_than_buckets_is_read_from_its_points(run):
    # 20 blocks could give 20 buckets; max_points=300 asks for 100, which the points give.
    record(run, "train_loss", range(1, 20 * BLOCK_STEPS + 1), noisy)

    points = read(run, max_points=300)

    assert 3 * 20 < len(points) <= 300


def test_a_series_with_more_points_than_it_is_cheap_to_read_is_merged_from_blocks(run, monkeypatch):
    # The same 20 blocks, past the cap on points read one by one: 20 buckets of a block each.
    monkeypatch.setattr(selectors, "POINTS_READ_MAX", 19 * BLOCK_STEPS)
    record(run, "train_loss", range(1, 20 * BLOCK_STEPS + 1), noisy)

    points = read(run, max_points=300)

    assert set(points) == {
        (step, value)
        for b in MetricBlock.objects.filter(run=run)
        for step, value in ((b.lo_step, b.lo_value), (b.hi_step, b.hi_value), (b.last_step, b.last_value))
    }  # fmt: skip


def test_the_metrics_api_serves_a_long_series_as_the_selector_reads_it(api, long_run):
    body = api.get(f"/api/v1/runs/{long_run.id}/metrics/?name=train_loss&max_points=60").json()

    assert body["series"] == run_metrics_series(long_run, ["train_loss"], max_points=60)
    assert set(body["series"]["train_loss"]) == {"steps", "values"}
