"""A run's page beyond its basics (test_pages): ETA, results by task, events, Clone and Run again."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from downhill.runs.models import Run
from tests.dashboard.builders import make_run

pytestmark = pytest.mark.django_db


def page(client, run) -> str:
    response = client.get(f"/runs/{run.id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_running_run_shows_progress_with_time_left(client, user):
    run = make_run(user, status=Run.Status.RUNNING)
    Run.objects.filter(pk=run.pk).update(
        step=100, steps=400, epoch=5, epochs=20, started_at=timezone.now() - timedelta(seconds=50)
    )
    client.force_login(user)
    html = page(client, run)
    assert "Epoch 5 of 20 · step 100 of 400" in html
    # 300 steps left at 2 steps per second
    assert re.search(r'data-field="eta">about 2m 3\ds left<', html)


def test_queued_run_has_no_time_left(client, user):
    run = make_run(user, status=Run.Status.QUEUED)
    client.force_login(user)
    html = page(client, run)
    assert "Waiting for a worker" in html
    assert 'data-field="eta"></span>' in html


def test_page_hooks_for_live_curves_events_and_smoothing(client, user):
    run = make_run(user, status=Run.Status.RUNNING)
    client.force_login(user)
    html = page(client, run)
    assert f'data-events-url="/api/v1/runs/{run.id}/events/"' in html
    assert 'data-control="smoothing"' in html and 'data-control="log-lr"' in html
    assert "data-events-list" in html


def test_classification_run_shows_its_confusion_matrix_with_class_names(client, user):
    run = make_run(user)
    run.summary = {
        "best_val_loss": 0.2, "best_epoch": 3, "final_train_loss": 0.1,
        "val_accuracy": 0.9, "best_val_accuracy": 0.9,
        "final_metrics": {"val_loss": 0.2, "val_accuracy": 0.9, "val_f1": 0.8889},
        "confusion_matrix": [[10, 0, 0], [0, 8, 2], [0, 1, 9]],
    }  # fmt: skip
    run.inference = {"classes": ["setosa", "versicolor", "virginica"]}
    run.save()
    client.force_login(user)
    html = page(client, run)

    assert "Confusion matrix" in html
    assert '<th scope="row">versicolor</th>' in html
    # 8 of 10 versicolor rows right: shade 8, on the diagonal
    assert re.search(
        r'<td class="heat-8 confusion__diagonal" title="8 of 10 versicolor rows predicted as versicolor">8</td>',
        html,
    )
    assert 'title="2 of 10 versicolor rows predicted as virginica">2<' in html
    assert "F1 0.8889" in html
    assert 'id="chart-accuracy"' in html and 'id="chart-r2"' not in html


def test_regression_run_plots_predicted_against_actual(client, user):
    run = make_run(user, task="regression")
    run.summary = {
        "best_val_loss": 3.0, "best_epoch": 4, "final_train_loss": 2.5,
        "final_metrics": {"val_loss": 3.0, "val_mae": 1.25, "val_rmse": 1.7321, "val_r2": 0.81},
        "val_predictions": {"actual": [1.0, 2.0, 3.0], "predicted": [1.1, 1.9, 3.4]},
    }  # fmt: skip
    run.save()
    client.force_login(user)
    html = page(client, run)

    assert "Predicted vs. actual" in html
    data = re.search(r'<script id="val-predictions" type="application/json">(.*?)</script>', html)
    assert json.loads(data.group(1)) == {"actual": [1.0, 2.0, 3.0], "predicted": [1.1, 1.9, 3.4]}
    assert "1.732" in html and "0.81" in html  # RMSE, R²
    assert 'id="chart-error"' in html and 'id="chart-r2"' in html
    assert "Confusion matrix" not in html


def test_test_split_metrics_and_rows_are_shown_when_the_run_held_rows_out(client, user):
    run = make_run(user, test_split=0.1)
    run.summary = {
        "final_train_loss": 0.3, "best_val_loss": 0.4, "best_epoch": 3,
        "rows": {"train": 105, "validation": 30, "test": 15},
        "test_metrics": {"test_loss": 0.4321, "test_accuracy": 0.8667, "test_f1": 0.8512},
    }  # fmt: skip
    run.save()
    client.force_login(user)
    html = page(client, run)
    test_stat = re.search(r'data-field="test-metrics".*?</div>', html, re.S).group(0)
    assert "0.4321" in test_stat and "86.7%" in test_stat and "0.8512" in test_stat
    assert "train · 30 validation · 15 test" in html
    assert "Test split" in html  # the config table

    held_none = make_run(user)
    held_none.summary = {"final_train_loss": 0.3, "rows": {"train": 120, "validation": 30}}
    held_none.save()
    assert 'data-field="test-metrics"' not in page(client, held_none)


def test_batch_size_chart_only_when_the_batch_grows(client, user):
    plain = make_run(user)
    growing = make_run(user, batch_size_schedule={"every_epochs": 5, "factor": 2, "max": 1024})
    client.force_login(user)
    assert 'id="chart-batch"' not in page(client, plain)
    assert 'id="chart-batch"' in page(client, growing)


def test_early_stop_and_left_out_columns_are_said_in_words(client, user):
    run = make_run(user, epochs=50)
    run.summary = {
        "final_train_loss": 0.1, "best_val_loss": 0.2, "best_epoch": 12, "epochs_completed": 17,
        "stop_reason": "early_stopping", "ignored_columns": {"name": "150 distinct values: an identifier"},
    }  # fmt: skip
    run.save()
    client.force_login(user)
    html = page(client, run)
    assert "Stopped early at epoch 17 of 50." in html
    assert "the monitored validation metric stopped improving" in html
    assert "The best epoch was 12." in html
    assert "<strong>name</strong> (150 distinct values: an identifier)" in html


def test_config_reads_sections_in_words(client, user):
    run = make_run(
        user,
        lr_schedule={"type": "cosine", "min_lr": 0.0, "warmup_epochs": 1},
        early_stopping=None,
    )
    client.force_login(user)
    html = page(client, run)
    assert (
        '<th scope="row">Learning-rate schedule</th><td>cosine, min lr 0, warmup epochs 1</td>'
        in html
    )
    assert '<th scope="row">Early stopping</th><td>off</td>' in html


def test_clone_opens_the_form_with_the_runs_settings(client, user):
    run = make_run(user)
    client.force_login(user)
    assert f'href="/experiments/new/?clone={run.id}"' in page(client, run)


def test_run_again_queues_another_run_of_the_experiment(client, user):
    run = make_run(user)
    client.force_login(user)
    response = client.post(f"/runs/{run.id}/again/")
    again = Run.objects.exclude(pk=run.pk).get()
    assert again.experiment_id == run.experiment_id and again.status == Run.Status.QUEUED
    assert response.status_code == 302 and response.url == f"/runs/{again.id}/"


def test_run_again_past_the_quota_says_why(client, user, settings):
    settings.DOWNHILL_MAX_ACTIVE_RUNS = 1
    run = make_run(user, status=Run.Status.RUNNING)
    client.force_login(user)
    response = client.post(f"/runs/{run.id}/again/", follow=True)
    assert Run.objects.count() == 1
    assert "the limit is 1" in response.content.decode()


def test_run_again_needs_a_post_and_the_owner(client, user, other_user):
    theirs = make_run(other_user)
    mine = make_run(user)
    client.force_login(user)
    assert client.post(f"/runs/{theirs.id}/again/").status_code == 404
    assert client.get(f"/runs/{mine.id}/again/").status_code == 405
    assert Run.objects.count() == 2


def test_the_lr_tests_of_the_runs_config_are_listed_and_open(client, user, django_user_model):
    from downhill.lab.models import RangeTest

    run = make_run(user)
    older = RangeTest.objects.create(owner=user, experiment=run.experiment, params={})
    newer = RangeTest.objects.create(
        owner=user, experiment=run.experiment, params={}, status=RangeTest.Status.SUCCEEDED
    )
    stranger = django_user_model.objects.create_user("mallory", password="x" * 12)
    theirs = RangeTest.objects.create(owner=stranger, experiment=run.experiment, params={})
    client.force_login(user)
    html = page(client, run)
    listed = re.findall(
        r'href="/lab/range-tests/(\d+)/">LR test #\d+</a> <span class="muted">(\w+)', html
    )
    assert listed == [(str(newer.id), "succeeded"), (str(older.id), "queued")]
    assert f"/lab/range-tests/{theirs.id}/" not in html
    assert client.get(f"/lab/range-tests/{newer.id}/").status_code == 200


def test_a_run_whose_config_has_no_lr_test_lists_none(client, user):
    client.force_login(user)
    assert 'data-field="range-tests"' not in page(client, make_run(user))
