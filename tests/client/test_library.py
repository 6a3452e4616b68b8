"""The library against a live server and a real worker: upload, experiments, watch, metrics,
predictions, listing and errors."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from downhill_client import ApiError, BadInput, Client, DatasetFailed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upload_train_watch_metrics_and_predict(client, iris_csv, tmp_path):
    sent = []
    dataset = client.datasets.upload(
        iris_csv, target="species", progress=lambda s, t: sent.append((s, t))
    )
    assert dataset.status == "ready" and dataset.n_rows == 150 and dataset.task == "classification"
    assert sent[-1] == (iris_csv.stat().st_size, iris_csv.stat().st_size)

    config = tmp_path / "iris.yaml"
    config.write_text(
        f"dataset: {dataset.id}\noptimizer: adam\nlearning_rate: 0.05\nepochs: 8\nseed: 1\n"
    )
    experiment = client.experiments.create(config)
    assert experiment.config["batch_size"] == 32 and experiment.run is not None

    snapshots = []
    run = client.runs.watch(experiment.run, snapshots.append, interval=0.3, timeout=180)
    assert run.status == "succeeded", run.error
    assert (
        snapshots[-1].run.finished
        and snapshots[-1].train_loss
        and snapshots[-1].val_loss is not None
    )
    assert run.progress.step == run.progress.steps > 0

    metrics = client.runs.metrics(run.id)
    frame = metrics.to_dataframe()
    assert frame.index.name == "step" and list(frame.index) == sorted(frame.index)
    assert len(frame) == run.progress.steps
    assert frame["train_loss"].notna().all()
    assert frame["val_loss"].notna().sum() == 8  # one per epoch, at the epoch's last step
    assert metrics.rows()[0][0] == 1 and len(metrics["train_loss"].values) == run.progress.steps

    rows = pd.read_csv(iris_csv).drop(columns="species").head(5)
    rows.loc[0, "sepal_width"] = float("nan")  # sent as a missing value
    predictions = client.runs.predict(run.id, rows)
    assert len(predictions) == 5 and set(predictions[0]["probabilities"]) == {
        "setosa",
        "versicolor",
        "virginica",
    }
    as_dicts = client.runs.predict(run.id, rows.iloc[1:].to_dict("records"))
    # The same rows in another batch: the same labels, the same probabilities up to the last
    # bits (NumPy's matrix product may sum in another order for another number of rows).
    assert [p["label"] for p in as_dicts] == [p["label"] for p in predictions[1:]]
    for alone, batched in zip(as_dicts, predictions[1:], strict=True):
        assert alone["probabilities"] == pytest.approx(
            batched["probabilities"], rel=1e-9, abs=1e-12
        )

    assert [r.id for r in client.runs.list(status="succeeded")] == [run.id]
    assert client.runs.list(status="running") == []


def test_server_errors_come_back_naming_fields(client, iris_csv):
    dataset = client.datasets.upload(iris_csv)
    with pytest.raises(ApiError) as caught:
        client.experiments.create({"dataset": dataset.id, "learning_rate": -1, "batch_sise": 3})
    assert caught.value.status_code == 400 and caught.value.exit_code == 2
    assert set(caught.value.errors) == {"learning_rate", "batch_sise"}
    assert "learning_rate" in caught.value.message
    assert client.experiments.list() == []  # nothing half-created

    with pytest.raises(ApiError) as caught:
        client.runs.predict(10**9, [{}])
    assert caught.value.status_code == 404


def test_a_file_the_server_cannot_read_raises_its_reading_error(client, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(ApiError, match="Line 3"):
        client.datasets.upload(bad)
    with pytest.raises(BadInput, match="no such file"):
        client.datasets.upload(tmp_path / "missing.csv")
    assert client.datasets.list() == []


def test_a_large_file_read_by_a_worker_raises_its_reading_error_when_waited_for(
    client, tmp_path, settings
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0  # every upload goes to the datasets worker
    from tests.conftest import WorkerProcess

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    worker = WorkerProcess(
        tmp_path / "datasets.log", media_root=settings.MEDIA_ROOT, queues="datasets"
    )
    try:
        with pytest.raises(DatasetFailed, match="Line 3"):
            client.datasets.upload(bad, wait=True, timeout=60)
    finally:
        worker.stop()


def test_a_wrong_token_is_an_api_error(server):
    with Client(server[0], "not-a-token") as c, pytest.raises(ApiError) as caught:
        c.datasets.list()
    assert caught.value.status_code == 401 and "token" in caught.value.message.lower()


def test_cancel_a_running_run_and_resume_it(client, iris_csv):
    dataset = client.datasets.upload(iris_csv)
    run_id = client.experiments.create({"dataset": dataset.id, "epochs": 5000, "batch_size": 1}).run
    deadline = time.monotonic() + 60
    while (run := client.runs.get(run_id)).progress.step < 10:
        assert time.monotonic() < deadline, run
        time.sleep(0.2)
    client.runs.cancel(run_id)
    cancelled = client.runs.watch(run_id, interval=0.2, timeout=180)
    assert cancelled.status == "cancelled"
    resumed = client.runs.resume(run_id)
    assert resumed.id != run_id and resumed.raw["resumed_from"] == run_id
    assert client.runs.cancel(resumed.id).status in ("cancelled", "running")
    assert client.runs.watch(resumed.id, interval=0.2, timeout=180).status == "cancelled"
    with pytest.raises(ApiError) as caught:  # a run that did not end cancelled cannot resume
        client.runs.resume(client.experiments.create({"dataset": dataset.id, "epochs": 1}).run)
    assert caught.value.status_code == 409
