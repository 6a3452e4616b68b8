"""With DOWNHILL_S3_BUCKET the files live in an S3-compatible bucket: uploads, what the worker
reads and writes (checkpoints, the exported model), and what predictions read. The bucket is
moto's S3 server, spoken to over HTTP like MinIO or AWS would be."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import numpy as np
import pytest
from django.core.files.storage import default_storage
from moto.server import ThreadedMotoServer

from downhill.runs.models import Run
from downhill.settings.storage import s3_storage
from tests.conftest import iris_rows
from tests.datasets.builders import npz_bytes, post_bytes
from workers.tasks import train_run

BUCKET = "downhill-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def s3_endpoint():
    """An S3 server on a free local port with an empty bucket."""
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def s3_settings(settings, s3_endpoint):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(BUCKET, endpoint_url=s3_endpoint, region="us-east-1", prefix="t1"),
    }
    return s3_endpoint


def bucket_keys(endpoint: str) -> set[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix="t1/")
    return {item["Key"] for item in listing.get("Contents", [])}


def test_upload_training_and_predictions_go_through_the_bucket(
    api, upload, s3_settings, media_root, settings, django_capture_on_commit_callbacks
):
    settings.DOWNHILL_CHECKPOINT_SECONDS = 0  # a resume checkpoint at every epoch's end
    response = upload(iris_rows(), name="iris.csv")
    assert response.status_code == 201, response.content
    dataset = response.json()
    keys = bucket_keys(s3_settings)
    assert len(keys) == 1 and next(iter(keys)).endswith(".csv")

    with django_capture_on_commit_callbacks(execute=False):
        run_id = api.post(
            "/api/v1/experiments/", {"dataset": dataset["id"], "epochs": 3}, format="json"
        ).json()["run"]
    train_run(run_id)  # the worker's code path: reads the upload, stores its artifacts
    run = Run.objects.get(pk=run_id)
    assert run.status == "succeeded", run.error
    keys = bucket_keys(s3_settings)
    for name in ("best.pt", "last.pt", "model.npz"):
        assert f"t1/runs/{run_id}/{name}" in keys, keys
    # Resume checkpoints listed and pruned through the bucket: only the newest is left.
    resume = sorted(key for key in keys if "/resume-" in key)
    assert resume == [f"t1/runs/{run_id}/resume-{run.steps:012d}.pt"]
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))

    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    predicted = api.post(f"/api/v1/runs/{run_id}/predict/", {"rows": [row]}, format="json")
    assert predicted.status_code == 200, predicted.content
    preview = api.get(f"/api/v1/datasets/{dataset['id']}/preview/?rows=2").json()
    assert preview["rows"] == [[str(v) for v in row] for row in iris_rows()[1:3]]  # ranged GET
    (prediction,) = predicted.json()["predictions"]  # read model.npz back from the bucket
    assert prediction["label"] in ("setosa", "versicolor", "virginica")
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)


def test_the_preview_of_an_npz_in_the_bucket_fetches_its_head_not_the_object(api, s3_settings):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40_000, 64)).astype(np.float32)  # a 10 MB object
    y = rng.integers(0, 3, size=40_000)
    response = post_bytes(api, npz_bytes(X=x, y=y), filename="big.npz")
    assert response.status_code == 201, response.content
    size = response.json()["size_bytes"]
    fetched = []  # bytes each GET brought, seen through boto3's own event hooks
    default_storage.connection.meta.client.meta.events.register(
        "after-call.s3.GetObject",
        lambda http_response, **_: fetched.append(int(http_response.headers["Content-Length"])),
    )

    preview = api.get(f"/api/v1/datasets/{response.json()['id']}/preview/?rows=3").json()

    assert preview["rows"] == [[*map(str, x[i]), str(y[i])] for i in range(3)]
    assert 0 < sum(fetched) < size / 50, (fetched, size)


def test_the_settings_choose_the_bucket_from_the_environment():
    code = """
import sys
sys.path[:0] = ["platform", "."]
from django.conf import settings
print(settings.STORAGES["default"])
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "downhill.settings",
        "DOWNHILL_S3_BUCKET": "models",
        "DOWNHILL_S3_ENDPOINT_URL": "http://minio:9000",
        "DOWNHILL_S3_PREFIX": "prod",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = eval(result.stdout)  # noqa: S307 (a dict literal printed by the child)
    assert loaded["BACKEND"] == "storages.backends.s3.S3Storage"
    assert loaded["OPTIONS"]["bucket_name"] == "models"
    assert loaded["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert loaded["OPTIONS"]["location"] == "prod"
    assert loaded["OPTIONS"]["default_acl"] is None
    assert loaded["OPTIONS"]["max_memory_size"] == 16 * 2**20  # larger files spill to disk
    assert "access_key" not in loaded["OPTIONS"]  # credentials come from boto3's own chain
