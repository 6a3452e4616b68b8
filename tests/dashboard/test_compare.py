"""Comparing runs: the settings that differ name the curves; the page overlays the runs."""

from __future__ import annotations

import json
import re

import pytest
from django.http import QueryDict

from downhill.dashboard.compare import MAX_COMPARED, differing_keys, flatten, parse_ids
from downhill.runs.models import Run
from tests.dashboard.builders import make_dataset, make_run

BASE = {
    "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "batch_size": 32, "seed": 1,
    "lr_schedule": {"type": "constant", "warmup_epochs": 0}, "early_stopping": None,
}  # fmt: skip


def keys_of(*configs) -> list[str]:
    return differing_keys([flatten({**BASE, **config}) for config in configs])


def test_only_the_settings_that_differ_are_named():
    assert keys_of({"learning_rate": 0.1}, {"learning_rate": 0.01}) == ["learning_rate"]
    assert keys_of({"optimizer": "sgd"}, {"optimizer": "adam", "momentum": None}) == [
        "optimizer",
        "momentum",
    ]


def test_the_seed_counts_only_when_nothing_else_differs():
    assert keys_of({"seed": 1}, {"seed": 2}) == ["seed"]
    assert keys_of({"seed": 1, "batch_size": 8}, {"seed": 2}) == ["batch_size"]


def test_a_section_switched_on_is_one_difference_not_one_per_parameter():
    early = {"patience_epochs": 5, "min_delta": 0.0, "monitor": "val_loss", "restore_best": True}
    assert keys_of({"early_stopping": early}, {}) == ["early_stopping"]
    later = {**early, "patience_epochs": 10}
    assert keys_of({"early_stopping": early}, {"early_stopping": later}, {}) == [
        "early_stopping",
        "early_stopping.patience_epochs",
    ]


def test_schedule_parameters_count_only_between_runs_that_have_them():
    step = {"type": "step", "every_epochs": 10, "gamma": 0.1, "warmup_epochs": 0}
    cosine = {"type": "cosine", "min_lr": 0.0, "warmup_epochs": 0}
    assert keys_of({"lr_schedule": step}, {"lr_schedule": cosine}) == ["lr_schedule.type"]


def test_ids_come_comma_separated_or_repeated_in_order_once_each():
    assert parse_ids(QueryDict("ids=3,1,x,3&ids=2")) == [3, 1, 2]
    assert parse_ids(QueryDict("")) == []


@pytest.mark.django_db
class TestComparePage:
    def test_legend_names_the_runs_by_what_differs(self, client, user):
        iris = make_dataset(user, "iris")
        fast = make_run(user, dataset=iris, optimizer="sgd", learning_rate=0.1, momentum=0.9)
        slow = make_run(user, dataset=iris, optimizer="sgd", learning_rate=0.01, momentum=0.9)
        client.force_login(user)
        html = client.get(f"/runs/compare/?ids={fast.id},{slow.id}").content.decode()

        legend = json.loads(
            re.search(r'<script id="compare-runs" type="application/json">(.*?)</script>', html)[1]
        )
        assert [item["label"] for item in legend] == [f"#{fast.id} lr=0.1", f"#{slow.id} lr=0.01"]
        assert "They differ in <code>learning_rate</code>." in html
        assert 'id="chart-train"' in html and 'id="chart-accuracy"' in html
        assert 'data-metrics-url="/api/v1/runs/0/metrics/"' in html

    def test_different_datasets_are_named_by_name(self, client, user):
        a = make_run(user, dataset_name="iris")
        b = make_run(user, dataset_name="wine")
        client.force_login(user)
        html = client.get(f"/runs/compare/?ids={a.id}&ids={b.id}").content.decode()
        assert f"#{a.id} dataset=iris" in html and f"#{b.id} dataset=wine" in html

    def test_results_side_by_side_with_the_best_marked(self, client, user):
        a, b = make_run(user, learning_rate=0.1), make_run(user, learning_rate=0.2)
        a.summary = {"best_val_loss": 0.5, "val_accuracy": 0.8}
        b.summary = {"best_val_loss": 0.25, "val_accuracy": 0.9}
        a.save()
        b.save()
        client.force_login(user)
        html = client.get(f"/runs/compare/?ids={a.id},{b.id}").content.decode()
        assert '<td class="num best">0.25</td>' in html
        assert '<td class="num">0.5</td>' in html
        assert '<td class="num best">90.0%</td>' in html

    def test_regression_runs_get_an_r2_chart_instead_of_accuracy(self, client, user):
        a, b = make_run(user, task="regression"), make_run(user, task="regression", seed=8)
        client.force_login(user)
        html = client.get(f"/runs/compare/?ids={a.id},{b.id}").content.decode()
        assert 'id="chart-r2"' in html and 'id="chart-accuracy"' not in html

    def test_another_users_run_cannot_be_compared(self, client, user, other_user):
        mine, theirs = make_run(user), make_run(other_user)
        client.force_login(user)
        assert client.get(f"/runs/compare/?ids={mine.id},{theirs.id}").status_code == 404

    def test_without_ids_it_sends_you_to_pick_runs(self, client, user):
        client.force_login(user)
        response = client.get("/runs/compare/", follow=True)
        assert response.redirect_chain[-1][0] == "/"
        assert "Tick two or more runs" in response.content.decode()

    def test_at_most_max_compared_runs(self, client, user):
        first = make_run(user)
        Run.objects.bulk_create(Run(experiment=first.experiment) for _ in range(MAX_COMPARED + 2))
        ids = ",".join(str(r.id) for r in Run.objects.order_by("id"))
        client.force_login(user)
        html = client.get(f"/runs/compare/?ids={ids}").content.decode()
        assert f"Comparing {MAX_COMPARED} runs" in html

    def test_needs_sign_in(self, client, user):
        run = make_run(user)
        assert client.get(f"/runs/compare/?ids={run.id}").status_code == 302

    def test_each_axis_has_a_note_and_only_the_default_says_so(self, client, user):
        one = make_run(user, batch_size=1)
        full = make_run(user, dataset=one.experiment.dataset, batch_size="full")
        client.force_login(user)
        html = client.get(f"/runs/compare/?ids={one.id},{full.id}").content.decode()

        notes = json.loads(
            re.search(r'<script id="axis-notes" type="application/json">(.*?)</script>', html)[1]
        )
        assert set(notes) == {"step", "epoch", "samples", "time"}
        assert [axis for axis, note in notes.items() if "by default" in note] == ["samples"]
        assert f'data-field="axis-note">{notes["samples"]}<' in html.replace("&#x27;", "'")
        assert "batch sizes differ" in notes["step"]
