"""The LR range test through the API: queued on the training queue, refused with a 400 naming
the field (nothing created), run by the worker's function to a stored per-step series with
suggestions, and cancelled."""

from __future__ import annotations

import pytest

from downhill.lab.models import RangeTest
from tests.conftest import diabetes_rows
from workers.contract.lab import RANGE_TEST_TASK

URL = "/api/v1/lab/range-tests/"


@pytest.fixture
def regression(user, upload):
    from downhill.experiments.services import experiment_create

    response = upload(diabetes_rows())
    assert response.status_code == 201, response.content
    data = {"dataset": response.json()["id"], "target": "progression", "epochs": 2,
            "batch_size": 64}  # fmt: skip
    return experiment_create(owner=user, data=data)


@pytest.mark.django_db
def test_create_fills_defaults_and_sends_the_job(api, regression, sent_tasks,
                                                 django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, {"experiment": regression.id}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["params"] == {"start_lr": 1e-7, "end_lr": 10.0, "steps": 100, "mode": "exponential"}
    jobs = [t for t in sent_tasks if t["name"] == RANGE_TEST_TASK]
    assert jobs and jobs[0]["args"] == [body["id"]] and jobs[0]["queue"] == "training"
    assert api.get(f"{URL}{body['id']}/").json()["id"] == body["id"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_lr": 0}, "start_lr"),
        ({"start_lr": 1.0, "end_lr": 0.5}, "end_lr"),  # an empty range
        ({"end_lr": "big"}, "end_lr"),
        ({"steps": 5}, "steps"),
        ({"steps": 10.5}, "steps"),
        ({"mode": "cubic"}, "mode"),
        ({"experiment": 10**9}, "experiment"),
        ({"experiment": None}, "experiment"),
        ({"warmup": 3}, "warmup"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, regression, body, field,
                                                                  sent_tasks):  # fmt: skip
    response = api.post(URL, {"experiment": regression.id, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not RangeTest.objects.exists() and not sent_tasks


@pytest.mark.django_db
def test_another_users_experiment_is_refused(grace, regression, sent_tasks):
    response = grace.post(URL, {"experiment": regression.id}, format="json")
    assert response.status_code == 400 and "experiment" in str(response.json())
    assert not RangeTest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_it_to_a_stored_series_with_suggestions(api, regression, sent_tasks):
    from workers.tasks import lab_range_test

    body = {"experiment": regression.id, "start_lr": 1e-5, "end_lr": 10.0, "steps": 60}
    test_id = api.post(URL, body, format="json").json()["id"]
    lab_range_test(test_id)
    result = api.get(f"{URL}{test_id}/").json()
    assert result["status"] == "succeeded", result["error"]
    series = result["series"]
    assert 2 < len(series["lr"]) == len(series["loss"]) == len(series["smoothed"]) <= 60
    assert series["lr"][0] == pytest.approx(1e-5)
    assert result["stop_reason"]
    assert set(result["suggestions"]) == {"steepest", "min_div_10", "valley", "warning"}
    assert all(0 < result["suggestions"][k] < 10 for k in ("steepest", "min_div_10", "valley"))


@pytest.mark.django_db
def test_cancel_a_queued_test(api, regression, sent_tasks):
    test_id = api.post(URL, {"experiment": regression.id}, format="json").json()["id"]
    response = api.post(f"{URL}{test_id}/cancel/", format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    from workers.lab import execute_range_test

    execute_range_test(test_id)  # a message that arrives after the cancel starts nothing
    assert RangeTest.objects.get(pk=test_id).status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_running_test_stops_at_its_next_write_once_cancel_is_asked(api, regression, sent_tasks):
    from workers.lab import execute_range_test

    body = {"experiment": regression.id, "start_lr": 1e-7, "end_lr": 1e-6, "steps": 1000}
    test_id = api.post(URL, body, format="json").json()["id"]
    # Asked while running: the flag a cancel of a running test sets, seen at the first write.
    RangeTest.objects.filter(pk=test_id).update(cancel_requested=True)
    execute_range_test(test_id)
    test = RangeTest.objects.get(pk=test_id)
    assert test.status == "cancelled" and test.stop_reason == "cancelled"
    assert 0 < len(test.series["lr"]) < 1000
