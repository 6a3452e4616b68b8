"""The playground through the API: queued on the training queue with its defaults filled in,
drawn by the worker's function into a stored result, listed without the result, refused with
a 400 naming the field (nothing created, nothing sent), and scoped to its owner."""

from __future__ import annotations

import pytest

from downhill.lab import playground as services
from downhill.lab.playground_models import Playground
from tests.conftest import diabetes_rows
from workers.contract.playground import PLAYGROUND_TASK

URL = "/api/v1/lab/playground/"


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    """No worker answers these tests' messages: the POST answers at once."""
    monkeypatch.setattr(services, "WAIT_SECONDS", 0.0)


def line_rows(n=80):
    return [["hours", "score"]] + [[i / 10, 3 * i / 10 + 1 + (-1) ** i * 0.2] for i in range(n)]


@pytest.mark.django_db
def test_create_fills_defaults_and_sends_the_job(
    api, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            URL, {"optimizers": [{"kind": "adam", "learning_rate": 0.2}]}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["result"] is None and body["dataset"] is None
    assert body["params"]["slope"] == 2.0 and body["params"]["grid"] == 41
    [adam] = body["params"]["optimizers"]
    assert adam["learning_rate"] == 0.2 and adam["steps"] == 100 and adam["optimizer"] == "adam"
    jobs = [t for t in sent_tasks if t["name"] == PLAYGROUND_TASK]
    assert jobs and jobs[0]["args"] == [body["id"]] and jobs[0]["queue"] == "training"


@pytest.mark.django_db(transaction=True)
def test_the_worker_draws_it_and_it_opens_again(api, sent_tasks):
    from workers.tasks import lab_playground

    body = {"optimizers": [{"kind": "gd", "steps": 40}, {"kind": "momentum", "steps": 25}]}
    created = api.post(URL, body, format="json").json()
    lab_playground(created["id"])
    result = api.get(f"{URL}{created['id']}/").json()
    assert result["status"] == "succeeded", result["error"]
    paths = result["result"]["paths"]
    assert [len(p["w"]) for p in paths] == [41, 26]
    assert result["result"]["least_squares"]["w"] == pytest.approx(2.0, abs=0.2)
    listed = api.get(URL).json()["results"]
    assert [p["id"] for p in listed] == [created["id"]] and "result" not in listed[0]


@pytest.mark.django_db(transaction=True)
def test_a_one_feature_dataset_of_the_users_is_the_points(api, upload, sent_tasks):
    from workers.tasks import lab_playground

    dataset = upload(line_rows(), target="score").json()
    assert dataset["task"] == "regression", dataset
    created = api.post(
        URL, {"dataset": dataset["id"], "optimizers": [{"kind": "gd"}]}, format="json"
    )
    assert created.status_code == 201, created.content
    lab_playground(created.json()["id"])
    result = Playground.objects.get().result
    assert result["n_points"] == 80
    assert result["least_squares"]["w"] == pytest.approx(3.0, abs=0.05)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"optimizers": [{"kind": "gd", "learning_rate": 0}]}, "optimizers[0].learning_rate"),
        ({"optimizers": [{"kind": "sgd", "learning_rate": -1}]}, "optimizers[0].learning_rate"),
        ({"optimizers": [{"kind": "gd", "steps": 100_000}]}, "optimizers[0].steps"),
        ({"optimizers": [{"kind": "newton"}]}, "optimizers[0].kind"),
        ({"optimizers": "adam"}, "optimizers"),
        ({"noise": -0.1}, "noise"),
        ({"grid": 1000}, "grid"),
        ({"dataset": 10**9}, "dataset"),
        ({"dataset": "mine"}, "dataset"),
        ({"shape": "round"}, "shape"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, sent_tasks, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Playground.objects.exists() and not sent_tasks


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "target", "says"),
    [
        (diabetes_rows(), "progression", "exactly one numeric feature"),
        ([["x", "label"]] + [[i, "ab"[i % 2]] for i in range(30)], "label", "not a regression"),
    ],
)
def test_a_dataset_that_is_not_a_one_feature_regression_is_refused(api, upload, sent_tasks, rows,
                                                                   target, says):  # fmt: skip
    dataset = upload(rows, target=target).json()
    response = api.post(URL, {"dataset": dataset["id"]}, format="json")
    assert response.status_code == 400, response.content
    assert says in " ".join(response.json()["errors"]["dataset"])
    assert not Playground.objects.exists()


@pytest.mark.django_db
def test_another_users_playground_and_dataset_are_not_theirs(api, grace, upload, sent_tasks):
    created = api.post(URL, {}, format="json").json()
    assert grace.get(f"{URL}{created['id']}/").status_code == 404
    assert grace.get(URL).json()["results"] == []
    dataset = upload(line_rows(), target="score").json()
    response = grace.post(URL, {"dataset": dataset["id"]}, format="json")
    assert response.status_code == 400 and "dataset" in response.json()["errors"]


@pytest.mark.django_db
def test_a_queued_playground_cancelled_never_starts_and_an_ended_one_answers_409(api, sent_tasks):
    from workers.tasks import lab_playground

    created = api.post(URL, {}, format="json").json()
    cancelled = api.post(f"{URL}{created['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["finished_at"]
    lab_playground(created["id"])  # the message is still delivered: the worker skips it
    row = Playground.objects.get(pk=created["id"])
    assert row.status == "cancelled" and row.result is None
    again = api.post(f"{URL}{created['id']}/cancel/")
    assert again.status_code == 409 and "already ended (cancelled)" in again.json()["detail"]


@pytest.mark.django_db
def test_a_running_playground_cancelled_drops_its_drawing(api, sent_tasks):
    created = api.post(URL, {}, format="json").json()
    assert services.playground_claim(created["id"])  # a worker has taken it
    assert api.post(f"{URL}{created['id']}/cancel/").json()["status"] == "cancelled"
    services.playground_finish(created["id"], "succeeded", result={"late": True})
    row = Playground.objects.get(pk=created["id"])
    assert row.status == "cancelled" and row.result is None


@pytest.mark.django_db
def test_a_finished_playground_is_not_cancelled(api, sent_tasks):
    from workers.tasks import lab_playground

    created = api.post(URL, {"optimizers": [{"kind": "gd", "steps": 5}]}, format="json").json()
    lab_playground(created["id"])
    response = api.post(f"{URL}{created['id']}/cancel/")
    assert response.status_code == 409 and "already ended (succeeded)" in response.json()["detail"]
    assert Playground.objects.get(pk=created["id"]).status == "succeeded"
