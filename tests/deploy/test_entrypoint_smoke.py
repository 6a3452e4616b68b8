"""The images' entry point, run natively: deploy/entrypoint.sh's roles (migrate, web, beat,
worker-datasets, worker-training) as the containers run them, against PostgreSQL, Redis and
an S3 server (moto's server mode). An upload read by the datasets worker, a run trained by the
training worker with its checkpoint in the bucket, predictions from the web; the health check
script of the images says healthy.

Needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL; .ci/run starts both): it makes a
database of its own next to the test database, and uses the tests' Redis database, purging its
queues before and after (no other worker runs then: end-to-end tests run last)."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3
import psycopg2
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.conftest import iris_rows, purge_queue

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"
BUCKET = "downhill-smoke"
ADMIN = {"username": "admin", "password": "smoke-test-password-1"}
SERVICES = ("web", "beat", "worker-datasets", "worker-training")

DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = pytest.mark.skipif(
    not (DATABASE_URL.startswith("postgres") and BROKER_URL.startswith("redis")),
    reason="needs PostgreSQL and Redis: set DATABASE_URL and CELERY_BROKER_URL (.ci/run does)",
)


@pytest.fixture
def smoke_database():
    """A database of its own on the tests' PostgreSQL server, dropped afterwards."""
    url = urlparse(DATABASE_URL)
    name = f"{url.path.lstrip('/') or 'downhill'}_deploy_smoke"
    admin = psycopg2.connect(DATABASE_URL, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield url._replace(path=f"/{name}").geturl()
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="smoke", aws_secret_access_key="smoke",
    )  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    yield endpoint, s3
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def container_env(smoke_database, s3_endpoint, tmp_path):
    """The environment deploy/compose.yaml gives every container, with `python` on PATH being
    this virtualenv's, as /opt/venv's is in the images."""
    purge_queue("training")
    purge_queue("datasets")
    yield {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "DOWNHILL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": smoke_database,
        "CELERY_BROKER_URL": BROKER_URL,
        "DOWNHILL_SECRET_KEY": "smoke-test-secret-key-not-for-production",
        "DOWNHILL_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DOWNHILL_ADMIN_USERNAME": ADMIN["username"],
        "DOWNHILL_ADMIN_PASSWORD": ADMIN["password"],
        "DOWNHILL_S3_BUCKET": BUCKET,
        "DOWNHILL_S3_ENDPOINT_URL": s3_endpoint[0],
        "DOWNHILL_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "smoke",
        "AWS_SECRET_ACCESS_KEY": "smoke",
        # Every upload goes through the datasets worker; beat sweeps every second.
        "DOWNHILL_INLINE_INGEST_MB": "0",
        "DOWNHILL_SWEEP_SECONDS": "1",
        "DOWNHILL_CHECKPOINT_SECONDS": "0",
        "PORT": str(free_port()),
        "DOWNHILL_BIND": "127.0.0.1",  # the images listen on 0.0.0.0; here, this machine only
        "WEB_CONCURRENCY": "1",
    }
    purge_queue("training")
    purge_queue("datasets")


@pytest.fixture
def services(container_env, tmp_path):
    """`migrate` to completion, then the long-running roles, each in a session of its own."""
    migrate = subprocess.run(
        [ENTRYPOINT, "migrate"], env=container_env, capture_output=True, text=True, timeout=180
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    started: dict[str, tuple[subprocess.Popen, Path]] = {}
    for role in SERVICES:
        log = tmp_path / f"{role}.log"
        with open(log, "w") as out:
            started[role] = (
                subprocess.Popen(
                    [ENTRYPOINT, role],
                    env=container_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                ),  # fmt: skip
                log,
            )
    yield started
    for process, _ in started.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for role, (process, log) in started.items():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            pytest.fail(f"{role} did not stop on SIGTERM:\n{log.read_text()[-3000:]}")


def healthcheck(env: dict, check: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, HEALTHCHECK, check], env=env, capture_output=True, text=True, timeout=30
    )


def wait_until(what: str, predicate, services, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        for role, (process, log) in services.items():
            assert process.poll() is None, f"{role} exited:\n{log.read_text()[-3000:]}"
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {r}\n{log.read_text()[-2000:]}" for r, (_, log) in services.items()
            )
            pytest.fail(f"{what} never happened:\n{logs}")
        time.sleep(0.5)
    return result


def signed_in(base: str) -> requests.Session:
    http = requests.Session()
    token = requests.post(f"{base}/auth/token/", json=ADMIN, timeout=30).json()["token"]
    http.headers["Authorization"] = f"Token {token}"
    return http


def upload_iris(http: requests.Session, base: str, services) -> int:
    text = io.StringIO()
    csv.writer(text).writerows(iris_rows())
    files = {"file": ("iris.csv", text.getvalue().encode(), "text/csv")}
    dataset = http.post(f"{base}/datasets/", files=files, data={"target": "species"}).json()
    assert dataset["status"] == "processing"  # read by worker-datasets, not by the web
    wait_until(
        "the upload read by worker-datasets",
        lambda: http.get(f"{base}/datasets/{dataset['id']}/").json()["status"] == "ready",
        services,
    )
    return dataset["id"]


def train(http: requests.Session, base: str, dataset_id: int, services) -> dict:
    created = http.post(f"{base}/experiments/", json={"dataset": dataset_id, "epochs": 3})
    assert created.status_code == 201, created.text
    run_id = created.json()["run"]

    def finished():
        run = http.get(f"{base}/runs/{run_id}/").json()
        return run if run["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_until("the run trained by worker-training", finished, services)


def test_each_role_of_the_image_entrypoint_serves_its_part(container_env, services, s3_endpoint):
    env, (_, s3) = container_env, s3_endpoint
    wait_until("web healthy", lambda: healthcheck(env, "web").returncode == 0, services)
    assert healthcheck(env, "broker").returncode == 0
    base = f"http://127.0.0.1:{env['PORT']}/api/v1"
    http = signed_in(base)

    run = train(http, base, upload_iris(http, base, services), services)
    assert run["status"] == "succeeded", run["error"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    for name in ("last.pt", "model.npz"):
        assert f"downhill/runs/{run['id']}/{name}" in keys, sorted(keys)

    rows = [dict(zip(iris_rows()[0][:4], row[:4], strict=True)) for row in iris_rows()[1:3]]
    predicted = http.post(f"{base}/runs/{run['id']}/predict/", json={"rows": rows})
    assert predicted.status_code == 200, predicted.text
    for prediction in predicted.json()["predictions"]:
        assert prediction["label"] in {"setosa", "versicolor", "virginica"}
        assert sum(prediction["probabilities"].values()) == pytest.approx(1, abs=1e-4)

    wait_until(
        "beat sending the sweep",
        lambda: "Sending due task" in services["beat"][1].read_text(),
        services,
        timeout=30,
    )
