"""README's walk-through with a client generated from our OpenAPI schema by
openapi-python-client (run by tests/client/test_generated_client.py, in the generator's own
virtualenv, the generated package `downhill_api` on its path, iris.csv in the working
folder): every module imports; sign up, a token, the upload, an experiment, its run trained,
metrics, predictions, a name and tags, another run cancelled. Prints a JSON summary last."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import downhill_api
from downhill_api import AuthenticatedClient, Client
from downhill_api.api.v1 import (
    v1_auth_register_create,
    v1_auth_token_create,
    v1_datasets_create,
    v1_experiments_create,
    v1_experiments_runs_create,
    v1_health_retrieve,
    v1_runs_cancel_create,
    v1_runs_metrics_retrieve,
    v1_runs_partial_update,
    v1_runs_predict_create,
    v1_runs_retrieve,
)
from downhill_api.models import (
    Dataset,
    DatasetUploadRequest,
    Experiment,
    ExperimentConfigRequest,
    Health,
    IssuedToken,
    MetricSeries,
    OptimizerEnum,
    PatchedRunMetadataRequest,
    Predictions,
    PredictRequest,
    PredictRequestRowsItem,
    Registered,
    RegisterRequest,
    Run,
    SignInRequest,
)
from downhill_api.types import File

FINISHED = {"succeeded", "failed", "cancelled"}


def import_every_module() -> int:
    names = [m.name for m in pkgutil.walk_packages(downhill_api.__path__, "downhill_api.")]
    for name in names:
        importlib.import_module(name)
    return len(names)


def expect(answer, kind):
    """The parsed answer, which must be the success model (an Error model says why not)."""
    if not isinstance(answer, kind):
        raise SystemExit(f"expected {kind.__name__}, got {answer!r}")
    return answer


def wait_for_run(api: AuthenticatedClient, run_id: int, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while True:
        run = expect(v1_runs_retrieve.sync(run_id, client=api), Run)
        if run.status.value in FINISHED or time.monotonic() > deadline:
            return run
        time.sleep(0.5)


def main(url: str) -> None:
    modules = import_every_module()
    anonymous = Client(base_url=url, raise_on_unexpected_status=True)
    health = expect(v1_health_retrieve.sync(client=anonymous), Health)

    password = "generated-client-walk-1"
    registered = expect(
        v1_auth_register_create.sync(
            client=anonymous, body=RegisterRequest(username="lin", password=password)
        ),
        Registered,
    )
    # The sign-in body asks for what the user knows; the token comes back in the answer.
    issued = expect(
        v1_auth_token_create.sync(
            client=anonymous, body=SignInRequest(username="lin", password=password, name="gen")
        ),
        IssuedToken,
    )
    api = AuthenticatedClient(base_url=url, token=issued.token, prefix="Token",
                              raise_on_unexpected_status=True)  # fmt: skip

    upload = DatasetUploadRequest(
        file=File(payload=Path("iris.csv").open("rb"), file_name="iris.csv", mime_type="text/csv"),
        target="species",
    )
    dataset = expect(v1_datasets_create.sync(client=api, body=upload), Dataset)

    config = ExperimentConfigRequest(dataset=dataset.id, optimizer=OptimizerEnum.SGD,
                                     learning_rate=0.05, momentum=0.9, epochs=4, seed=1)  # fmt: skip
    experiment = expect(v1_experiments_create.sync(client=api, body=config), Experiment)
    run = wait_for_run(api, experiment.runs[0])

    metrics = expect(
        v1_runs_metrics_retrieve.sync(run.id, client=api, name=["train_loss", "val_loss"]),
        MetricSeries,
    )
    row = PredictRequestRowsItem.from_dict(
        {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    )
    predictions = expect(
        v1_runs_predict_create.sync(run.id, client=api, body=PredictRequest(rows=[row])),
        Predictions,
    )
    metadata = PatchedRunMetadataRequest(name="sgd baseline", tags=["keep"])
    named = expect(v1_runs_partial_update.sync(run.id, client=api, body=metadata), Run)

    another = expect(v1_experiments_runs_create.sync(experiment.id, client=api), Run)
    expect(v1_runs_cancel_create.sync(another.id, client=api), Run)
    cancelled = wait_for_run(api, another.id)

    summary = {
        "modules": modules,
        "health": health.status.value,
        "registered": registered.username,
        "dataset": {"id": dataset.id, "status": dataset.status.value, "n_rows": dataset.n_rows},
        "run": {"id": run.id, "status": run.status.value, "steps": run.progress.steps},
        "series": sorted(metrics.series.to_dict()),
        "predictions": predictions.predictions,
        "named": [named.name, named.tags],
        "cancelled": cancelled.status.value,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1])
