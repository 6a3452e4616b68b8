"""How numbers, schedules and column statistics read on the pages."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from downhill.dashboard.templatetags.dataset_display import histogram, stat, top_values
from downhill.dashboard.templatetags.run_display import (
    eta,
    momentum,
    schedule,
    started,
    stop_reason,
)


def test_schedules_read_in_a_few_words():
    assert schedule({"type": "constant", "warmup_epochs": 0}) == "constant"
    assert schedule({"type": "step", "every_epochs": 5, "gamma": 0.5}) == "step ×0.5 / 5 ep"
    assert schedule({"type": "exponential", "gamma": 0.9}) == "exponential ×0.9"
    assert schedule({"type": "warm_restarts"}) == "warm restarts"
    assert schedule(None) == "—"


def test_momentum_is_a_dash_where_the_optimizer_has_none():
    assert momentum(None) == "—" and momentum(0.9) == "0.9" and momentum(0.0) == "0"


def test_start_times_are_short():
    now = timezone.now()
    assert started(now) == timezone.localtime(now).strftime("%H:%M")
    older = timezone.localtime(now - timedelta(days=400))
    assert started(older) == f"{older.strftime('%b')} {older.day}, {older.year}"


def test_time_left_and_stop_reasons_in_words():
    assert eta(150.4) == "about 2m 30s left"
    assert eta(None) == ""
    assert stop_reason("lr_below_min").startswith("The plateau schedule")
    assert stop_reason("something_new") == "Something new."


def test_column_statistics_read_to_four_digits():
    assert stat(150) == "150" and stat(12345.0) == "12,345"
    assert stat(3.75833) == "3.758" and stat(None) == "—" and stat(float("nan")) == "—"


def test_histogram_bars_fill_the_height_and_small_bins_stay_visible():
    bars = histogram({"histogram": {"edges": [0, 1, 2, 3], "counts": [100, 0, 1]}})["bars"]
    assert [round(b["height"]) for b in bars] == [34, 0, 2]
    assert bars[2]["title"] == "2 to 3: 1 rows"
    assert histogram({"histogram": {"edges": [0, 1], "counts": []}}) == {"bars": []}


def test_top_values_scale_to_the_most_frequent():
    shown = top_values({"top_values": [["a", 10], ["b", 5]], "distinct": 4}, limit=5)
    assert [v["width"] for v in shown["values"]] == [100.0, 50.0]
    assert shown["more"] == 2


def test_counts_on_the_pages_have_thousands_separators():
    from django.template import Context, Template

    column = {"top_values": [["setosa", 12345], ["virginica", 2400]], "distinct": 2}
    html = Template("{% load dataset_display %}{% top_values column %}").render(
        Context({"column": column})
    )
    assert "12,345" in html and "2,400" in html
    runs = Template('{% include "dashboard/_runs_count.html" %}').render(
        Context({"page": {"paginator": {"count": 2400}}, "query": {}})
    )
    assert runs.strip() == "2,400 runs, newest first"
