"""The server-rendered pages: sign-in, the runs list, a run's page and its Cancel button.
More of each page: test_runs_table, test_run_page, test_compare, test_datasets_pages,
test_experiment_form."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from downhill.runs.models import Run
from tests.dashboard.builders import PASSWORD, make_run, row_of

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_anonymous_run_page_is_sent_to_login(client, user):
    run = make_run(user)
    response = client.get(f"/runs/{run.id}/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_login_with_username_and_password_lands_on_runs_page(client, user):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    response = client.post("/login/", {"username": "ada", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Runs</h1>" in html
    assert 'action="/logout/"' in html  # a POST form: Django 5 refuses GET logouts


def test_login_with_a_wrong_password_says_so(client, user):
    response = client.post("/login/", {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_form_signs_out(client, user):
    client.force_login(user)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_runs_page_lists_dataset_optimizer_learning_rate_and_batch_size(client, user):
    run = make_run(
        user,
        dataset_name="wine",
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.9,
        batch_size="full",
    )
    run.summary = {"best_val_loss": 0.123456, "best_epoch": 12, "best_val_accuracy": 0.9333}
    run.save()
    client.force_login(user)

    row = row_of(client.get("/").content.decode(), run)
    assert "wine" in row
    assert ">sgd<" in row
    assert ">0.05<" in row
    assert "full batch" in row
    assert ">0.1235<" in row  # best val loss, four significant digits
    assert "93.3%" in row
    assert "badge--succeeded" in row


def test_runs_page_hides_accuracy_column_when_no_run_has_accuracy(client, user):
    make_run(user, task="regression")
    client.force_login(user)
    assert "sort=-val_accuracy" not in client.get("/").content.decode()


def test_runs_page_without_runs_explains_how_to_start(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "No runs yet" in html
    assert "POST /api/v1/datasets/" in html
    assert "POST /api/v1/experiments/" in html


def test_runs_page_paginates(client, user):
    dataset_run = make_run(user)
    Run.objects.bulk_create(Run(experiment=dataset_run.experiment) for _ in range(50))
    client.force_login(user)

    first = client.get("/").content.decode()
    assert first.count('class="run-link"') == 50
    assert 'href="?page=2"' in first
    second = client.get("/?page=2").content.decode()
    assert second.count('class="run-link"') == 1


def test_another_users_run_is_neither_listed_nor_shown(client, user, other_user):
    mine = make_run(user, dataset_name="mine")
    theirs = make_run(other_user, dataset_name="theirs")
    client.force_login(user)

    html = client.get("/").content.decode()
    row_of(html, mine)
    assert f'href="/runs/{theirs.id}/"' not in html
    assert "theirs" not in html
    assert client.get(f"/runs/{theirs.id}/").status_code == 404


def test_run_page_shows_a_failed_runs_error(client, user):
    message = "Training diverged: the training loss became NaN at step 212 (epoch 3). Try 0.01 instead of 0.1."
    run = make_run(user, status=Run.Status.FAILED)
    run.error = message
    run.save()
    client.force_login(user)

    html = client.get(f"/runs/{run.id}/").content.decode()
    assert "This run failed" in html
    assert message in html
    assert "Cancel run" not in html  # a finished run has nothing to cancel


def test_run_page_shows_config_summary_and_hooks_for_live_updates(client, user):
    run = make_run(
        user, status=Run.Status.RUNNING, optimizer="sgd", learning_rate=0.1, momentum=0.9
    )
    client.force_login(user)

    html = client.get(f"/runs/{run.id}/").content.decode()
    assert f'data-run-id="{run.id}"' in html
    assert 'data-status="running"' in html
    assert f'data-detail-url="/api/v1/runs/{run.id}/"' in html
    assert f'data-metrics-url="/api/v1/runs/{run.id}/metrics/"' in html
    assert "MLP, hidden 64 × 64, relu" in html
    assert re.search(r"Momentum</th><td>0.9<", html)
    assert 'id="chart-accuracy"' in html  # classification
    assert "Cancel run" in html


def test_run_page_of_a_regression_adam_run_has_no_accuracy_chart_or_momentum(client, user):
    run = make_run(user, task="regression")
    run.summary = {
        "final_train_loss": 2.5,
        "best_val_loss": 3.25,
        "best_epoch": 4,
        "rows": {"train": 80, "validation": 20},
    }
    run.save()
    client.force_login(user)

    html = client.get(f"/runs/{run.id}/").content.decode()
    assert 'id="chart-accuracy"' not in html
    assert 'id="chart-loss"' in html and 'id="chart-lr"' in html
    assert "Momentum" not in html and "Nesterov" not in html  # neither applies to adam
    assert "3.25" in html and "epoch 4" in html


def test_cancel_button_cancels_a_queued_run(client, user):
    run = make_run(user, status=Run.Status.QUEUED)
    client.force_login(user)

    response = client.post(f"/runs/{run.id}/cancel/")
    assert response.status_code == 302
    assert response.url == f"/runs/{run.id}/"
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED


def test_cancel_asks_a_running_runs_worker_to_stop(client, user):
    run = make_run(user, status=Run.Status.RUNNING)
    client.force_login(user)

    client.post(f"/runs/{run.id}/cancel/")
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.cancel_requested


def test_run_page_shows_a_requested_cancel_as_stopping(client, user):
    run = make_run(user, status=Run.Status.RUNNING)
    run.cancel_requested = True
    run.save()
    client.force_login(user)

    html = client.get(f"/runs/{run.id}/").content.decode()
    assert "Stopping…" in html
    assert "Cancel run" not in html


def test_cancel_needs_a_post_and_the_runs_owner(client, user, other_user):
    theirs = make_run(other_user, status=Run.Status.QUEUED)
    mine = make_run(user, status=Run.Status.QUEUED)
    client.force_login(user)

    assert client.post(f"/runs/{theirs.id}/cancel/").status_code == 404
    assert client.get(f"/runs/{mine.id}/cancel/").status_code == 405
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.status == mine.status == Run.Status.QUEUED


def test_login_page_links_to_sign_up_only_where_it_is_open(client, settings):
    settings.DOWNHILL_ALLOW_SIGNUP = True
    assert 'href="/signup/"' in client.get("/login/").content.decode()
    settings.DOWNHILL_ALLOW_SIGNUP = False
    assert 'href="/signup/"' not in client.get("/login/").content.decode()


def test_header_links_every_page(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    for href in ('href="/"', 'href="/datasets/"', 'href="/experiments/new/"', 'href="/api/docs/"'):
        assert href in html


def test_static_files_referenced_by_the_pages_exist(client, user):
    run = make_run(user)
    other = make_run(user)
    client.force_login(user)
    pages = [
        client.get(url)
        for url in (
            "/", f"/runs/{run.id}/", f"/runs/compare/?ids={run.id},{other.id}",
            "/datasets/", f"/datasets/{run.experiment.dataset_id}/", "/experiments/new/",
        )
    ]  # fmt: skip
    client.logout()
    pages.append(client.get("/login/"))

    referenced = set()
    for page in pages:
        assert page.status_code == 200
        referenced |= set(re.findall(r'(?:src|href)="/static/([^"]+)"', page.content.decode()))
    scripts = {"chart", "common", "run", "runs", "compare", "datasets", "experiment"}
    assert {"dashboard/style.css"} | {f"dashboard/{name}.js" for name in scripts} <= referenced
    for path in referenced:
        assert finders.find(path), f"/static/{path} is referenced but not found"


def test_pages_have_no_inline_scripts_or_styles(client, user):
    """Everything a page runs comes from /static/: a strict Content-Security-Policy can hold."""
    run = make_run(user)
    client.force_login(user)
    for url in ("/", f"/runs/{run.id}/", "/datasets/", "/experiments/new/",
                f"/runs/compare/?ids={run.id}"):  # fmt: skip
        html = client.get(url).content.decode()
        for script in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in script or 'type="application/json"' in script, (url, script)
        assert " style=" not in html and "<style" not in html, url
        assert " on" + "click=" not in html, url
