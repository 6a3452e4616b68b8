"""Metric series on other x axes (GET .../metrics/?x=), answered from what the server stores:
the config's batch sizes per epoch on the run's training rows, and each point's wall time."""

from __future__ import annotations

import pytest

from downhill.runs.axes import run_epoch_plan
from downhill.runs.models import Run
from downhill.runs.services import metrics_record

pytestmark = pytest.mark.django_db
T0 = 1.7e9


@pytest.fixture
def experiment_of(user, upload):
    """Experiments on one 20-row dataset (16 training rows after its stratified split)."""
    from downhill.experiments.services import experiment_create

    rows = [["x", "label"]] + [[i, "ab"[i % 2]] for i in range(20)]
    dataset = upload(rows).json()["id"]

    def _make(**config):
        return experiment_create(owner=user, data={"dataset": dataset, "epochs": 3, **config})

    return _make


def _trained(experiment, steps: int) -> Run:
    """The experiment's run with `steps` training-loss points, one a second from T0."""
    run = experiment.runs.get()
    Run.objects.filter(pk=run.pk).update(steps=steps)
    metrics_record(run.id, [("train_loss", s, 1.0 / s, T0 + s) for s in range(1, steps + 1)])
    run.refresh_from_db()
    return run


def _series(api, run, axis, name="train_loss", **params):
    query = "&".join(f"{k}={v}" for k, v in {"name": name, "x": axis, **params}.items())
    response = api.get(f"/api/v1/runs/{run.id}/metrics/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_batch_one_and_full_batch_span_the_same_epochs_and_samples(api, experiment_of):
    one = _trained(experiment_of(batch_size=1), 48)  # 16 rows: 16 steps an epoch
    full = _trained(experiment_of(batch_size="full"), 3)  # one step an epoch

    for axis, end in (("epoch", 3.0), ("samples", 48)):
        small, large = _series(api, one, axis), _series(api, full, axis)
        assert small["x"] == large["x"] == axis
        assert small["series"]["train_loss"]["x"][-1] == end
        assert large["series"]["train_loss"]["x"] == (
            [1.0, 2.0, 3.0] if axis == "epoch" else [16, 32, 48]
        )
    halfway = _series(api, one, "epoch")["series"]["train_loss"]
    assert halfway["x"][halfway["steps"].index(8)] == 0.5


def test_a_partial_last_batch_counts_only_the_rows_it_holds(experiment_of):
    run = _trained(experiment_of(batch_size=5), 12)  # 16 rows: batches of 5, 5, 5 and 1
    plan = run_epoch_plan(run)

    assert plan.epoch_steps == [4, 4, 4]
    assert [plan.samples(s) for s in (1, 3, 4, 5)] == [5, 15, 16, 21]
    assert plan.epoch(6) == 1.5


def test_time_axis_is_seconds_since_the_first_point(api, experiment_of):
    run = _trained(experiment_of(batch_size=8), 6)

    series = _series(api, run, "time")["series"]["train_loss"]

    assert series["x"] == [0, 1, 2, 3, 4, 5]


def test_step_axis_repeats_the_steps(api, experiment_of):
    run = _trained(experiment_of(batch_size=8), 6)

    series = _series(api, run, "step")["series"]["train_loss"]

    assert series["x"] == series["steps"] == [1, 2, 3, 4, 5, 6]


def test_until_step_reads_a_zoomed_range_only(api, experiment_of):
    run = _trained(experiment_of(batch_size=1), 48)

    series = _series(api, run, "epoch", since_step=15, until_step=20)["series"]["train_loss"]

    assert series["steps"] == [16, 17, 18, 19, 20]
    assert series["x"][0] == 1.0


def test_an_unknown_axis_is_refused_naming_it(api, experiment_of):
    run = _trained(experiment_of(batch_size=1), 3)

    response = api.get(f"/api/v1/runs/{run.id}/metrics/?x=tokens")

    assert response.status_code == 400
    assert "x" in response.json()["errors"]


def test_a_one_step_spike_stays_visible_overall_and_when_zoomed(api, experiment_of):
    run = experiment_of(batch_size=1).runs.get()
    n, spike = 60_000, 43_210
    points = [("train_loss", s, 100.0 if s == spike else 1.0, T0 + s) for s in range(1, n + 1)]
    for i in range(0, n, 10_000):
        metrics_record(run.id, points[i : i + 10_000])

    overview = _series(api, run, "step", max_points=300)["series"]["train_loss"]
    zoomed = _series(api, run, "step", since_step=43_000, until_step=43_500, max_points=1500)

    assert len(overview["steps"]) <= 300 and 100.0 in overview["values"]
    assert zoomed["series"]["train_loss"]["steps"] == list(range(43_001, 43_501))
    assert 100.0 in zoomed["series"]["train_loss"]["values"]
