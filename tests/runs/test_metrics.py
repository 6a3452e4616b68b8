"""Metric points: batched idempotent writes, and series read back with server-side downsampling."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from downhill.runs.metric_chunks import points_count, run_points
from downhill.runs.selectors import run_metric_names, run_metrics_series
from downhill.runs.services import metrics_record

pytestmark = pytest.mark.django_db


def record_series(run, name: str, steps, value=lambda step: 1.0 / step) -> None:
    metrics_record(run.id, [(name, step, value(step), 1.7e9 + step) for step in steps])


def test_metrics_record_writes_points_in_a_few_queries_not_one_per_point(run):
    points = [("train_loss", step, 1.0 / step, 1.7e9) for step in range(1, 5001)]

    with CaptureQueriesContext(connection) as queries:
        assert metrics_record(run.id, points) == 5000

    assert points_count(run.id) == 5000
    # SQLite caps the variables of one statement (~200 rows here); PostgreSQL takes 2000 rows.
    assert len(queries) < 50


def test_metrics_record_twice_keeps_one_point_per_run_name_and_step(run):
    points = [("train_loss", step, 0.5, 1.7e9) for step in range(1, 11)] + [("lr", 1, 0.1, 1.7e9)]

    metrics_record(run.id, points)
    metrics_record(run.id, points)

    assert points_count(run.id) == 11
    assert points_count(run.id, "train_loss") == 10


def test_metrics_record_keeps_the_first_value_when_a_step_is_written_again(run):
    metrics_record(run.id, [("val_loss", 4, 0.25, 1.7e9)])
    metrics_record(run.id, [("val_loss", 4, 9.99, 1.7e9), ("val_loss", 8, 0.2, 1.7e9)])

    series = run_metrics_series(run, ["val_loss"])
    assert series["val_loss"] == {"steps": [4, 8], "values": [0.25, 0.2]}


def test_metrics_record_of_nothing_writes_nothing(run):
    assert metrics_record(run.id, []) == 0
    assert points_count(run.id) == 0


def test_the_same_step_may_hold_different_series_and_runs(experiment, run):
    from downhill.runs.services import run_queue

    second = run_queue(experiment=experiment)
    metrics_record(run.id, [("train_loss", 1, 0.9, 1.7e9), ("lr", 1, 0.01, 1.7e9)])
    metrics_record(second.id, [("train_loss", 1, 0.8, 1.7e9)])

    assert run_metric_names(run) == ["lr", "train_loss"]
    assert run_metrics_series(second, ["train_loss"])["train_loss"]["values"] == [0.8]


def test_series_come_back_in_step_order_as_parallel_lists(run):
    metrics_record(run.id, [("train_loss", step, step * 0.1, 1.7e9) for step in (3, 1, 2)])

    assert run_metrics_series(run, ["train_loss"]) == {
        "train_loss": {"steps": [1, 2, 3], "values": [0.1, 0.2, pytest.approx(0.3)]}
    }


def test_an_unknown_series_name_comes_back_empty(run):
    assert run_metrics_series(run, ["nope"]) == {"nope": {"steps": [], "values": []}}


def test_since_step_returns_only_later_points(run):
    record_series(run, "train_loss", range(1, 101))

    series = run_metrics_series(run, ["train_loss"], since_step=90)["train_loss"]

    assert series["steps"] == list(range(91, 101))


def test_a_series_within_max_points_comes_back_whole(run):
    record_series(run, "train_loss", range(1, 101))

    assert run_metrics_series(run, ["train_loss"], max_points=100)["train_loss"]["steps"] == list(
        range(1, 101)
    )


@pytest.mark.parametrize(("n", "max_points"), [(1000, 100), (1000, 3), (997, 10), (101, 100)])
def test_downsampling_keeps_at_most_max_points_plus_the_last_step(run, n, max_points):
    record_series(run, "train_loss", range(1, n + 1))

    series = run_metrics_series(run, ["train_loss"], max_points=max_points)["train_loss"]

    assert 2 <= len(series["steps"]) <= max_points + 1
    assert series["steps"][-1] == n
    assert series["steps"] == sorted(set(series["steps"]))
    assert series["values"] == [pytest.approx(1.0 / s) for s in series["steps"]]


def test_downsampling_after_since_step_keeps_the_last_step(run):
    record_series(run, "train_loss", range(1, 1001))

    series = run_metrics_series(run, ["train_loss"], max_points=50, since_step=400)["train_loss"]

    assert len(series["steps"]) <= 51
    assert series["steps"][0] > 400
    assert series["steps"][-1] == 1000


def test_downsampling_bounds_a_per_epoch_series_whose_steps_are_evenly_spaced(run):
    # val_loss is written at the step where each epoch ends: 4, 8, 12, ... for 4 steps per epoch.
    record_series(run, "val_loss", range(4, 4001, 4))

    series = run_metrics_series(run, ["val_loss"], max_points=100)["val_loss"]

    assert len(series["steps"]) <= 101, f"{len(series['steps'])} points for max_points=100"
    assert series["steps"][-1] == 4000


def test_downsampling_keeps_a_loss_spike_visible(run):
    # DESIGN.md: downsampling keeps extremes (min/max/last per bucket), so a divergence shows.
    record_series(
        run, "train_loss", range(1, 1001), value=lambda step: 50.0 if step == 333 else 1.0
    )

    series = run_metrics_series(run, ["train_loss"], max_points=100)["train_loss"]

    assert len(series["steps"]) <= 101
    assert max(series["values"]) == 50.0


def test_downsampling_keeps_each_buckets_lowest_highest_and_last_point_at_large_steps(run):
    # Steps past 2**31 / buckets overflowed 32-bit arithmetic on PostgreSQL before.
    first = 3_000_000
    steps = range(first, first + 3000)
    # A saw-tooth: each run of 30 steps dips to -1 at its 10th step and peaks at +5 at its 20th.
    record_series(
        run, "train_loss", steps, value=lambda s: {9: -1.0, 19: 5.0}.get((s - first) % 30, 0.5)
    )
    series = run_metrics_series(run, ["train_loss"], max_points=300)["train_loss"]
    assert len(series["steps"]) <= 300
    assert series["steps"] == sorted(series["steps"]) and series["steps"][-1] == first + 2999
    # 100 buckets of 30 steps: every dip and every peak survives.
    assert series["values"].count(-1.0) == 100 and series["values"].count(5.0) == 100


def test_metrics_record_stores_values_names_and_wall_times_exactly(run):
    """PostgreSQL writes through COPY's text format: every float must come back bit for bit,
    and a name with COPY's special characters unchanged."""
    odd = "val\tloss\\n\nx"
    points = [
        ("train_loss", 1, 0.1 + 0.2, 1_700_000_000.123456),
        ("train_loss", 2, 1e-300, 1.7e9),
        ("train_loss", 3, float("inf"), 1.7e9),
        ("train_loss", 4, -2.5e300, 1.7e9),
        (odd, 1, 5e-324, 0.0),
    ]

    metrics_record(run.id, points)

    stored = {(name, step): (value, wall) for name, step, value, wall in run_points(run.id)}
    assert stored == {(name, step): (value, wall) for name, step, value, wall in points}


def test_metrics_record_keeps_one_of_two_points_at_one_step_and_the_stored_one_after(run):
    metrics_record(run.id, [("lr", 1, 0.5, 1.7e9), ("lr", 1, 0.25, 1.7e9), ("lr", 2, 0.1, 1.7e9)])
    metrics_record(run.id, [("lr", 2, 0.9, 1.7e9)])

    values = {step: value for _, step, value, _ in run_points(run.id)}
    assert values[2] == 0.1
    assert values[1] in (0.5, 0.25) and points_count(run.id) == 2
