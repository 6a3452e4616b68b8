"""GET /api/v1/runs/{id}/metrics/csv/ and /api/v1/runs/metrics/csv/?ids=: every stored
point as CSV, long or wide, on the step, epoch, samples or time axis."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import iris_rows

pytestmark = pytest.mark.django_db(transaction=True)


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def two_runs(trained):
    small = trained(iris_rows(), epochs=3, batch_size=16, seed=1)
    full = trained(iris_rows(), epochs=3, batch_size="full", seed=1)
    return small, full


def test_long_csv_holds_every_point_on_the_epoch_axis(api, two_runs):
    from downhill.runs.metric_chunks import points_count, series_points
    from downhill.runs.models import Run

    small, _ = two_runs
    rows = read_csv(api.get(f"/api/v1/runs/{small['id']}/metrics/csv/?axis=epoch"))
    assert list(rows[0]) == ["run", "series", "step", "epoch", "value"]
    assert len(rows) == points_count(small["id"])
    run = Run.objects.get(pk=small["id"])
    per_epoch = run.summary["steps_per_epoch"]
    losses = [r for r in rows if r["series"] == "train_loss"]
    for row in losses:
        assert float(row["epoch"]) == pytest.approx(int(row["step"]) / per_epoch, abs=1e-6)
    assert float(losses[-1]["epoch"]) == 3.0
    stored = series_points(small["id"], "train_loss", 0, 1).values[0]
    assert float(losses[0]["value"]) == stored  # full precision, not rounded


def test_wide_csv_has_a_column_per_series_and_samples_seen(api, two_runs):
    from downhill.runs.models import Run

    small, _ = two_runs
    rows = read_csv(api.get(f"/api/v1/runs/{small['id']}/metrics/csv/?layout=wide&axis=samples"))
    assert list(rows[0])[:3] == ["run", "step", "samples"]
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(rows[0])
    n_train = Run.objects.get(pk=small["id"]).summary["rows"]["train"]
    assert int(rows[0]["samples"]) == 16
    assert int(rows[-1]["samples"]) == 3 * n_train
    assert [int(r["step"]) for r in rows] == sorted({int(r["step"]) for r in rows})
    assert rows[0]["val_loss"] == ""  # measured at epoch ends only


def test_compare_selection_in_one_csv_spans_the_same_epochs(api, two_runs):
    small, full = two_runs
    url = f"/api/v1/runs/metrics/csv/?ids={full['id']},{small['id']}&axis=epoch&layout=wide"
    response = api.get(url)
    assert (
        f"runs-{full['id']}-{small['id']}-metrics-wide-epoch.csv" in response["Content-Disposition"]
    )
    rows = read_csv(response)
    by_run = {}
    for row in rows:
        by_run.setdefault(int(row["run"]), []).append(float(row["epoch"]))
    assert list(by_run) == [full["id"], small["id"]]  # the order asked for
    assert by_run[full["id"]] == [1.0, 2.0, 3.0]  # one step per epoch
    assert by_run[small["id"]][-1] == 3.0


def test_time_axis_counts_seconds_from_the_runs_start(api, two_runs):
    small, _ = two_runs
    rows = read_csv(api.get(f"/api/v1/runs/{small['id']}/metrics/csv/?axis=time"))
    seconds = [float(r["time"]) for r in rows]
    assert all(s >= 0 for s in seconds) and min(seconds) < 5


@pytest.mark.parametrize(
    ("query", "field"),
    [("axis=wall_clock", "axis"), ("layout=tall", "layout"), ("ids=1,x", "ids"), ("ids=", "ids")],
)
def test_bad_parameters_are_named(api, run, query, field):
    url = (
        f"/api/v1/runs/metrics/csv/?{query}"
        if "ids" in query
        else (f"/api/v1/runs/{run.id}/metrics/csv/?{query}")
    )
    response = api.get(url)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_another_users_runs_are_not_exported(grace, run):
    assert grace.get(f"/api/v1/runs/{run.id}/metrics/csv/").status_code == 404
    response = grace.get(f"/api/v1/runs/metrics/csv/?ids={run.id}")
    assert response.status_code == 400
    assert f"no run {run.id}" in str(response.json())
