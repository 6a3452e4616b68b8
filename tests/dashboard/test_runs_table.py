"""The runs table: its columns, filters, sorting, paging, live refresh and compare selection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from downhill.runs.models import Run
from tests.dashboard.builders import listed_ids, make_dataset, make_run, row_of

pytestmark = pytest.mark.django_db


def test_row_shows_momentum_and_schedule(client, user):
    run = make_run(
        user,
        optimizer="sgd",
        learning_rate=0.1,
        momentum=0.9,
        lr_schedule={"type": "step", "every_epochs": 10, "gamma": 0.1, "warmup_epochs": 2},
    )
    client.force_login(user)
    row = row_of(client.get("/").content.decode(), run)
    assert ">0.9<" in row
    assert "step ×0.1 / 10 ep" in row and "+ warmup" in row


def test_adam_run_shows_a_dash_for_momentum(client, user):
    run = make_run(user, optimizer="adam", momentum=None)
    client.force_login(user)
    row = row_of(client.get("/").content.decode(), run)
    assert '<td class="num">—</td>' in row


def test_filters_by_status_dataset_and_optimizer(client, user):
    iris = make_dataset(user, "iris")
    wine = make_dataset(user, "wine")
    sgd_iris = make_run(user, dataset=iris, optimizer="sgd", momentum=0.0)
    adam_iris = make_run(user, dataset=iris, status=Run.Status.FAILED)
    adam_wine = make_run(user, dataset=wine)
    client.force_login(user)

    assert listed_ids(client.get("/?optimizer=sgd").content.decode()) == [sgd_iris.id]
    assert listed_ids(client.get("/?status=failed").content.decode()) == [adam_iris.id]
    assert listed_ids(client.get(f"/?dataset={wine.id}").content.decode()) == [adam_wine.id]
    both = client.get(f"/?dataset={iris.id}&optimizer=adam").content.decode()
    assert listed_ids(both) == [adam_iris.id]
    assert "Clear filters" in both


def test_filter_selects_offer_the_users_datasets_and_keep_the_choice(client, user, other_user):
    mine = make_dataset(user, "mine")
    make_dataset(other_user, "theirs")
    make_run(user, dataset=mine)
    client.force_login(user)
    html = client.get(f"/?dataset={mine.id}&status=running").content.decode()
    assert f'<option value="{mine.id}" selected>mine</option>' in html
    assert '<option value="running" selected>Running</option>' in html
    assert "theirs" not in html


def test_unknown_filter_values_are_ignored(client, user):
    run = make_run(user)
    client.force_login(user)
    response = client.get("/?status=exploded&optimizer=lbfgs&dataset=x&sort=secret")
    assert response.status_code == 200
    assert listed_ids(response.content.decode()) == [run.id]


def test_no_run_matches_says_so(client, user):
    make_run(user)
    client.force_login(user)
    html = client.get("/?status=running").content.decode()
    assert "No runs match these filters" in html
    assert "No runs yet" not in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("learning_rate", [0.001, 0.01, 0.1]),
        ("-learning_rate", [0.1, 0.01, 0.001]),
    ],
)
def test_sorts_by_learning_rate(client, user, sort, expected):
    for lr in (0.01, 0.1, 0.001):
        make_run(user, learning_rate=lr)
    client.force_login(user)
    ids = listed_ids(client.get(f"/?sort={sort}").content.decode())
    rates = [Run.objects.get(pk=i).experiment.config["learning_rate"] for i in ids]
    assert rates == expected


def test_sorting_by_batch_size_puts_full_batches_last(client, user):
    full = make_run(user, batch_size="full")
    small = make_run(user, batch_size=8)
    large = make_run(user, batch_size=256)
    client.force_login(user)
    assert listed_ids(client.get("/?sort=batch_size").content.decode()) == [
        small.id,
        large.id,
        full.id,
    ]


def test_sorting_by_val_loss_puts_runs_without_one_last_either_way(client, user):
    none = make_run(user, status=Run.Status.QUEUED)
    good = make_run(user)
    bad = make_run(user)
    good.summary = {"best_val_loss": 0.1}
    bad.summary = {"best_val_loss": 0.9}
    good.save()
    bad.save()
    client.force_login(user)
    assert listed_ids(client.get("/?sort=best_val_loss").content.decode()) == [
        good.id,
        bad.id,
        none.id,
    ]
    assert listed_ids(client.get("/?sort=-best_val_loss").content.decode()) == [
        bad.id,
        good.id,
        none.id,
    ]


def test_sorts_by_duration_and_momentum(client, user):
    now = timezone.now()
    short = make_run(user, optimizer="sgd", momentum=0.5)
    long = make_run(user, optimizer="sgd", momentum=0.9)
    Run.objects.filter(pk=short.pk).update(started_at=now - timedelta(seconds=10), finished_at=now)
    Run.objects.filter(pk=long.pk).update(started_at=now - timedelta(hours=1), finished_at=now)
    client.force_login(user)
    assert listed_ids(client.get("/?sort=-duration").content.decode()) == [long.id, short.id]
    assert listed_ids(client.get("/?sort=momentum").content.decode()) == [short.id, long.id]


def test_header_links_sort_and_a_second_click_reverses(client, user):
    make_run(user)
    client.force_login(user)
    html = client.get("/?optimizer=adam").content.decode()
    assert 'href="?optimizer=adam&amp;sort=learning_rate"' in html
    assert 'href="?optimizer=adam&amp;sort=-started"' in html  # newest first on a first click
    sorted_html = client.get("/?optimizer=adam&sort=learning_rate").content.decode()
    assert 'aria-sort="ascending"' in sorted_html
    assert 'href="?optimizer=adam&amp;sort=-learning_rate"' in sorted_html


def test_pages_keep_the_filters_and_sort(client, user):
    first = make_run(user, optimizer="sgd", momentum=0.0)
    Run.objects.bulk_create(Run(experiment=first.experiment) for _ in range(50))
    client.force_login(user)
    html = client.get("/?optimizer=sgd&sort=-run").content.decode()
    assert html.count('class="run-link"') == 50
    assert 'href="?optimizer=sgd&amp;sort=-run&amp;page=2"' in html
    second = client.get("/?optimizer=sgd&sort=-run&page=2").content.decode()
    assert listed_ids(second) == [first.id]  # the oldest, last when sorted newest first


def test_live_refresh_gets_the_table_alone_and_knows_when_runs_are_active(client, user):
    run = make_run(user, status=Run.Status.RUNNING)
    Run.objects.filter(pk=run.pk).update(step=30, steps=120, epoch=2)
    client.force_login(user)

    partial = client.get("/?partial=1").content.decode()
    assert "<html" not in partial and "<header" not in partial
    assert 'data-active="true"' in partial
    assert '<progress class="mini-progress" max="120" value="30"' in row_of(partial, run)

    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
    assert 'data-active="false"' in client.get("/?partial=1").content.decode()


def test_every_row_can_be_ticked_for_comparison(client, user):
    runs = [make_run(user), make_run(user)]
    client.force_login(user)
    html = client.get("/").content.decode()
    assert 'action="/runs/compare/"' in html
    for run in runs:
        assert f'<input type="checkbox" name="ids" value="{run.id}"' in row_of(html, run)
