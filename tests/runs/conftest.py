import pytest


@pytest.fixture
def experiment(user, upload):
    """An experiment of ada's on a small classification dataset; its first run is queued."""
    from downhill.experiments.services import experiment_create

    rows = [["x", "label"]] + [[i, "ab"[i % 2]] for i in range(20)]
    response = upload(rows)
    assert response.status_code == 201, response.content
    return experiment_create(owner=user, data={"dataset": response.json()["id"], "epochs": 3})


@pytest.fixture
def run(experiment):
    """The experiment's queued run."""
    return experiment.runs.get()


@pytest.fixture
def grace(other_user):
    """An API client authenticated as a second user."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other_user)
    return client


@pytest.fixture
def trained(api, upload, django_capture_on_commit_callbacks):
    """Train a run on `rows` with the real worker code, in this process; its API JSON."""
    from workers.runner import execute_run

    def _train(rows, **config) -> dict:
        dataset = upload(rows).json()["id"]
        with django_capture_on_commit_callbacks(execute=False):
            body = api.post(
                "/api/v1/experiments/", {"dataset": dataset, **config}, format="json"
            ).json()
        execute_run(body["run"])
        run = api.get(f"/api/v1/runs/{body['run']}/").json()
        assert run["status"] == "succeeded", run["error"]
        return run

    return _train
