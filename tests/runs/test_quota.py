"""A user's share of the training queue: runs queued or running, and training steps still to
train, both counted atomically with the insert of a new run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from downhill.accounts.services import token_create
from downhill.runs.models import Run
from tests.conftest import iris_rows


@pytest.fixture
def experiment(api, upload, sent_tasks):
    dataset = upload(iris_rows()).json()["id"]
    # 120 training rows in batches of 32: 4 steps per epoch, 10 epochs.
    response = api.post("/api/v1/experiments/", {"dataset": dataset, "epochs": 10}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_never_pass_the_active_run_limit(experiment, user, live_server, settings):
    settings.DOWNHILL_MAX_ACTIVE_RUNS = 10
    key = token_create(user=user, name="probe").key
    url = f"{live_server.url}/api/v1/experiments/{experiment}/runs/"

    def post(_):
        return requests.post(url, headers={"Authorization": f"Token {key}"}, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(post, range(40)))

    assert Run.objects.filter(status="queued").count() == 10
    assert sorted(codes) == [201] * 9 + [429] * 31  # the experiment's own first run is the 10th


@pytest.mark.django_db
def test_steps_in_flight_are_limited_saying_which_limit_and_what_is_left(api, experiment, settings):
    settings.DOWNHILL_MAX_STEPS_IN_FLIGHT = 100  # the first run holds 40 (4 steps x 10 epochs)
    assert api.post(f"/api/v1/experiments/{experiment}/runs/").status_code == 201
    refused = api.post(f"/api/v1/experiments/{experiment}/runs/")

    assert refused.status_code == 429
    detail = refused.json()["detail"]
    assert "DOWNHILL_MAX_STEPS_IN_FLIGHT" in detail and "plans 40 training steps" in detail
    assert "80 still to train" in detail and "20 are left" in detail
    assert Run.objects.count() == 2

    # Steps trained no longer count: the first run is 30 steps in.
    Run.objects.filter(experiment_id=experiment).update(step=30, status="running")
    assert api.post(f"/api/v1/experiments/{experiment}/runs/").status_code == 201


@pytest.mark.django_db
def test_a_single_run_over_the_step_limit_is_refused_and_nothing_created(
    api, upload, settings, sent_tasks
):
    settings.DOWNHILL_MAX_STEPS_IN_FLIGHT = 1000
    dataset = upload(iris_rows()).json()["id"]
    refused = api.post(
        "/api/v1/experiments/", {"dataset": dataset, "epochs": 300, "batch_size": 1}, format="json"
    )
    assert refused.status_code == 429 and "36,000 training steps" in refused.json()["detail"]
    assert not Run.objects.exists()
