"""The run page's poll, every second from every open run page (bench/load): few queries,
however many series it asks for, and answers exactly what the per-series reads answer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from downhill.runs.metric_chunks import CHUNKS
from downhill.runs.selectors import run_metrics_series
from downhill.runs.services import metrics_record

pytestmark = pytest.mark.django_db

VAL = ["val_loss", "val_accuracy", "val_f1", "val_mae", "val_rmse", "val_r2"]


def record_steps(run, first: int, last: int) -> None:
    """train_loss and lr at every step, the validation series every 10 steps."""
    points = [
        (name, s, 1.0 / s, 1.7e9) for s in range(first, last + 1) for name in ("train_loss", "lr")
    ]
    points += [(name, s, 0.5, 1.7e9) for s in range(first, last + 1) if s % 10 == 0 for name in ("val_loss", "val_accuracy")]  # fmt: skip
    metrics_record(run.id, points)


@pytest.fixture
def browser(user) -> Client:
    """A signed-in browser session, as the run page polls with."""
    client = Client()
    client.force_login(user)
    return client


def poll_queries(browser, run, names: list[str], since_step: int) -> list[str]:
    query = "&".join(f"name={name}" for name in names)
    url = f"/api/v1/runs/{run.id}/metrics/?{query}&since_step={since_step}"
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_a_poll_reads_every_series_it_asks_for_in_one_query(browser, run):
    record_steps(run, 1, 300)

    two = poll_queries(browser, run, ["train_loss", "lr"], since_step=290)
    six = poll_queries(browser, run, VAL, since_step=290)

    # The session, its user, the run and the points: as many for six series as for two.
    assert len(two) == len(six) == 4, two + six
    assert sum(CHUNKS in sql for sql in six) == 1


def test_a_poll_answers_each_series_in_step_order_and_empty_series_for_none_yet(api, run):
    record_steps(run, 1, 300)

    body = api.get(
        f"/api/v1/runs/{run.id}/metrics/",
        {"name": ["val_loss", "lr", "val_f1"], "since_step": 285},
    ).json()

    assert body["series"] == {
        "val_loss": {"steps": [290, 300], "values": [0.5, 0.5]},
        "lr": {"steps": list(range(286, 301)), "values": [1.0 / s for s in range(286, 301)]},
        "val_f1": {"steps": [], "values": []},
    }


def test_a_new_point_is_visible_on_the_next_poll(api, run):
    record_steps(run, 1, 20)
    url = f"/api/v1/runs/{run.id}/metrics/"
    assert api.get(url, {"name": ["train_loss", "lr"], "since_step": 20}).json()["series"] == {
        "train_loss": {"steps": [], "values": []},
        "lr": {"steps": [], "values": []},
    }

    record_steps(run, 21, 21)

    series = api.get(url, {"name": ["train_loss", "lr"], "since_step": 20}).json()["series"]
    assert series["train_loss"]["steps"] == series["lr"]["steps"] == [21]


def test_a_poll_past_max_points_is_downsampled_as_each_series_alone(run):
    record_steps(run, 1, 600)

    polled = run_metrics_series(run, ["train_loss", "lr"], max_points=60, since_step=1)

    for name in ("train_loss", "lr"):
        alone = run_metrics_series(run, [name], max_points=60, since_step=1)[name]
        assert polled[name] == alone
        assert 3 <= len(alone["steps"]) <= 60
        assert alone["steps"][0] >= 2 and alone["steps"][-1] == 600


def test_the_run_json_reads_neither_the_dataset_nor_more_than_one_row(browser, run):
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(f"/api/v1/runs/{run.id}/").status_code == 200

    sql = [q["sql"] for q in queries.captured_queries]
    assert not any("datasets_dataset" in s for s in sql), sql
    assert sum("runs_run" in s for s in sql) == 1, sql
