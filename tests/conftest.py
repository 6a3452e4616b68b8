"""Shared fixtures: users and API clients, CSV builders, and a real Celery worker process."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """No persistent connections in tests: the live server's request threads would leave
    theirs open, and PostgreSQL then refuses to drop the test database."""
    from django.db import connections

    for connection in connections.all():
        connection.settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session", autouse=True)
def broker_folder(tmp_path_factory):
    """With the filesystem broker, tests send their messages to a folder of their own, never
    to the var/broker of a `make run` on this checkout (its worker would take them)."""
    from downhill.celery import app

    if not app.conf.broker_url.startswith("filesystem://"):
        yield None
        return
    root = tmp_path_factory.mktemp("broker")
    for sub in ("queue", "processed", "control"):
        (root / sub).mkdir()
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = {
        **saved,
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
    }
    os.environ["DOWNHILL_BROKER_DIR"] = str(root)  # for the worker process
    yield root
    app.conf.broker_transport_options = saved
    del os.environ["DOWNHILL_BROKER_DIR"]


@pytest.fixture(scope="session")
def shared_media_root(tmp_path_factory):
    """The storage folder of tests that run a worker process (it reads the uploads too)."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def media_root(request, settings, tmp_path, shared_media_root):
    """Uploads land in a folder of this test, so a test sees exactly what was stored (tests
    with a worker process share one folder with it). Never the developer's var/media."""
    if request.node.get_closest_marker("e2e"):
        root = shared_media_root
    else:
        root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    # Hashing the fixtures' passwords at production strength costs ~0.3 s per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return root


@pytest.fixture(autouse=True)
def fresh_throttles(request, django_db_blocker):
    """Throttle and failed sign-in counts live in the cache (a table of the database); each
    test that reaches the database starts with none."""
    from django.core.cache import cache

    uses_db = {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    if request.node.get_closest_marker("django_db") or uses_db:
        with django_db_blocker.unblock():
            cache.clear()


@pytest.fixture
def sent_tasks(monkeypatch) -> list[dict]:
    """Tasks the web side sends through Celery, recorded instead of reaching the broker."""
    from downhill.celery import app

    sent: list[dict] = []
    monkeypatch.setattr(
        app, "send_task", lambda name, **options: sent.append({"name": name, **options})
    )
    return sent


@pytest.fixture
def train_upload(api, django_capture_on_commit_callbacks):
    """Upload a file, create an experiment on it through the API and train its run in-process
    with the worker's Celery task; returns the succeeded Run. Needs transactional tests (the
    worker's metrics writer is a thread with its own connection)."""
    from downhill.runs.models import Run
    from tests.datasets.builders import post_bytes
    from workers.tasks import train_run

    def _train(content: bytes, filename: str, **config) -> Run:
        upload = post_bytes(api, content, filename=filename)
        assert upload.status_code == 201, upload.content
        with django_capture_on_commit_callbacks(execute=False):
            response = api.post(
                "/api/v1/experiments/", {"dataset": upload.json()["id"], **config}, format="json"
            )
        assert response.status_code == 201, response.content
        train_run(response.json()["run"])
        run = Run.objects.select_related("experiment__dataset").get(pk=response.json()["run"])
        assert run.status == "succeeded", run.error
        return run

    return _train


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("ada", password="correct-horse-battery-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("grace", password="correct-horse-battery-2")


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def csv_file(rows: list[list], name: str = "data.csv", delimiter: str = ",") -> io.BytesIO:
    """An in-memory upload from rows (the first row is the header)."""
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(rows)
    data = io.BytesIO(text.getvalue().encode())
    data.name = name
    return data


def iris_rows() -> list[list]:
    from sklearn.datasets import load_iris

    iris = load_iris()
    header = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    return [header] + [
        [*map(float, x), str(iris.target_names[t])]
        for x, t in zip(iris.data, iris.target, strict=True)
    ]


def diabetes_rows() -> list[list]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    return [list(data.feature_names) + ["progression"]] + [
        [*map(float, x), float(t)] for x, t in zip(data.data, data.target, strict=True)
    ]


@pytest.fixture
def upload(api):
    """Upload rows as a CSV through the API; returns the response."""

    def _upload(rows, name="data.csv", **fields):
        return api.post(
            "/api/v1/datasets/", {"file": csv_file(rows, name), **fields}, format="multipart"
        )

    return _upload


def database_url() -> str:
    """The URL of the database the tests use (the test database, once it is set up)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def purge_queue(name: str) -> None:
    """Drop a queue's messages: those left by an earlier session name rows of a different
    database. A queue that does not exist yet has none."""
    from downhill.celery import app

    with contextlib.suppress(Exception), app.connection_for_write() as conn:
        conn.default_channel.queue_purge(name)


class WorkerProcess:
    """A real `celery worker` process (in a process group of its own, so killing the group is
    losing the machine), on the test database, storage and broker, consuming `queues`
    (comma-separated: "training", "datasets")."""

    def __init__(
        self,
        log_path,
        *,
        media_root,
        beat: bool = False,
        queues: str = "training",
        **env_overrides: str,
    ):
        self.log_path = log_path
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DOWNHILL_MEDIA_ROOT": str(media_root),
            "DOWNHILL_VAR_DIR": str(log_path.parent),  # beat's schedule file, never var/
            "PYTHONUNBUFFERED": "1",
            **env_overrides,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", queues,
            "--pool", "solo", "--loglevel", "INFO", "--hostname", f"test-{log_path.stem}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ] + (["--beat"] if beat else [])  # fmt: skip
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """kill -9 the worker and everything it started: its machine is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def tail(self, chars: int = 5000) -> str:
        return self.log_path.read_text()[-chars:]


SESSION_WORKERS: list[WorkerProcess] = []


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, shared_media_root):
    """The end-to-end tests' worker, shared by the session."""
    purge_queue("training")
    with django_db_blocker.unblock():
        worker = WorkerProcess(
            tmp_path_factory.mktemp("worker") / "session.log", media_root=shared_media_root
        )
    SESSION_WORKERS.append(worker)
    yield worker.process
    worker.stop()
    print(f"\n--- worker log ({worker.log_path}) ---\n{worker.tail()}")


def pytest_collection_modifyitems(items):
    """End-to-end tests run last, and the worker-fault tests (which stop the session's worker)
    last of all. A worker process takes any queued run it finds, so no in-process test may run
    while it lives: SQLite reuses row ids after a flush, and a message left for a cancelled run
    could otherwise start another test's run."""
    items.sort(key=lambda item: (item.get_closest_marker("e2e") is not None,
                                 item.get_closest_marker("worker_faults") is not None))  # fmt: skip
