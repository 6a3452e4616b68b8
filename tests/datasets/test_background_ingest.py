"""Uploads above DOWNHILL_INLINE_INGEST_MB: stored `processing`, enqueued by task name after
commit (or by the sweep, when the broker was down), and read by the worker's task into `ready`, or `failed` with the message a small
upload's 400 gives. The task is called directly here; tests/e2e/test_background_ingest.py
runs it in a real worker process."""

from __future__ import annotations

import hashlib
import io
import os
import time

import numpy as np
import pytest
from django.core.files.storage import default_storage

from downhill.datasets.models import Dataset
from downhill.datasets.receiving import (
    ReceivedUpload,
    dataset_receive,
    dataset_received,
    others_waiting,
    reading_yielded,
)
from downhill.dispatch import send_dataset
from tests.conftest import csv_file, iris_rows
from tests.datasets.builders import (
    URL,
    class_folders,
    npz_bytes,
    post_bytes,
    stored_files,
    stripes,
    zip_bytes,
)
from workers.contract.tasks import DATASETS_QUEUE, PROCESS_DATASET_TASK
from workers.tasks import process_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_background(settings, sent_tasks):
    """Every upload goes to the worker (the limit is 0 MB)."""
    settings.DOWNHILL_INLINE_INGEST_MB = 0


def inline_and_in_background(api, settings, content: bytes, filename: str, **fields):
    """The same bytes uploaded twice: read in the request, and stored for the task, which is
    then run. Returns (the inline response, the background dataset after the task)."""
    inline = post_bytes(api, content, filename, **fields)
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    response = post_bytes(api, content, filename, **fields)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "processing"
    process_dataset(response.json()["id"])
    return inline, api.get(f"{URL}{response.json()['id']}/").json()


# --- processing -> ready ------------------------------------------------------------------


def test_an_upload_over_the_limit_is_stored_processing_with_the_same_representation(
    api, in_background, media_root
):
    content = csv_file(iris_rows()).getvalue()
    response = post_bytes(api, content, "iris.csv", target="species")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "processing" and body["error"] == ""
    assert body["name"] == "iris" and body["target"] == "species"
    assert body["size_bytes"] == len(content)
    assert body["n_rows"] == 0 and body["columns"] == [] and body["task"] == ""
    assert body.keys() == api.get(f"{URL}{body['id']}/").json().keys()
    (stored,) = stored_files(media_root)
    assert stored.read_bytes() == content and stored.suffix == ".csv"


def test_the_task_makes_it_ready_with_the_schema_an_inline_upload_gets(api, settings):
    content = csv_file(iris_rows()).getvalue()
    inline, background = inline_and_in_background(api, settings, content, "iris.csv")

    assert inline.status_code == 201, inline.content
    inline = inline.json()
    assert background["status"] == "ready" and background["error"] == ""
    for key in ("format", "size_bytes", "sha256", "n_rows", "columns", "target", "task"):
        assert background[key] == inline[key], key
    assert background["sha256"] == hashlib.sha256(content).hexdigest()
    assert api.get(f"{URL}{background['id']}/preview/").json()["rows"][0][-1] == "setosa"


def test_a_zip_of_images_read_by_the_task_stores_its_pixels_for_the_worker(
    api, settings, media_root
):
    images, labels = stripes(4)
    content = class_folders(images, labels, root="data/")
    inline, background = inline_and_in_background(api, settings, content, "stripes.zip")

    assert background["status"] == "ready", background["error"]
    for key in ("format", "n_rows", "columns", "target", "task", "details", "sha256"):
        assert background[key] == inline.json()[key], key
    dataset = Dataset.objects.get(pk=background["id"])
    with dataset.arrays.open("rb") as f, np.load(f) as arrays:
        assert arrays["X"].shape == (8, 16, 16, 3)
    assert len(stored_files(media_root)) == 4  # each upload and its pixels


def test_an_npz_read_by_the_task_is_ready_like_an_inline_one(api, settings):
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    content = npz_bytes(X=x, y=np.arange(20) % 2)
    inline, background = inline_and_in_background(api, settings, content, "table.npz")

    assert background["status"] == "ready", background["error"]
    assert background["format"] == "npz"
    assert background["columns"] == inline.json()["columns"]


def test_an_upload_at_the_limit_is_still_read_in_the_request(api, settings, sent_tasks):
    content = csv_file(iris_rows()).getvalue()
    settings.DOWNHILL_INLINE_INGEST_MB = 1
    assert len(content) <= 2**20

    assert post_bytes(api, content).json()["status"] == "ready"
    assert sent_tasks == []


# --- the by-name enqueue --------------------------------------------------------------------


def test_the_upload_is_enqueued_by_task_name_on_the_datasets_queue_after_commit(
    api, in_background, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = post_bytes(api, csv_file(iris_rows()).getvalue()).json()
    assert sent_tasks == []

    for callback in callbacks:
        callback()

    assert [(t["name"], t["args"], t["queue"]) for t in sent_tasks] == [
        (PROCESS_DATASET_TASK, [body["id"]], DATASETS_QUEUE)
    ]


def unreachable_broker(monkeypatch) -> None:
    """Every send fails as a broker that does not answer makes it fail."""
    from downhill.celery import app

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(app, "send_task", unreachable)


def test_an_upload_the_broker_could_not_take_waits_processing_and_the_sweep_sends_it_later(
    api, settings, monkeypatch, media_root, django_capture_on_commit_callbacks, client, user
):
    from downhill.celery import app
    from workers.tasks import requeue_stale_runs

    unreachable_broker(monkeypatch)
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    content = csv_file(iris_rows()).getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_bytes(api, content, "iris.csv")

    assert response.status_code == 201
    dataset_id = response.json()["id"]
    body = api.get(f"{URL}{dataset_id}/").json()
    assert (body["status"], body["error"], body["sent_at"]) == ("processing", "", None)
    (stored,) = stored_files(media_root)
    assert stored.read_bytes() == content
    client.force_login(user)
    assert "Waiting for the task broker" in client.get(f"/datasets/{dataset_id}/").content.decode()
    requeue_stale_runs()  # a sweep while the broker is still down: tried, still unsent
    assert Dataset.objects.get(pk=dataset_id).sent_at is None

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    requeue_stale_runs()  # the broker is back

    assert [(name, o["args"], o["queue"]) for name, o in sent] == [
        (PROCESS_DATASET_TASK, [dataset_id], DATASETS_QUEUE)
    ]
    assert api.get(f"{URL}{dataset_id}/").json()["sent_at"] is not None
    assert "Reading the file" in client.get(f"/datasets/{dataset_id}/").content.decode()
    process_dataset(dataset_id)  # as the datasets worker does with the message
    assert api.get(f"{URL}{dataset_id}/").json()["status"] == "ready"


def test_a_dataset_sent_at_its_upload_is_not_sent_again_by_the_sweep(
    api, in_background, sent_tasks, django_capture_on_commit_callbacks
):
    from downhill.dispatch import datasets_send_unsent

    with django_capture_on_commit_callbacks(execute=True):
        dataset_id = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    sent_at = Dataset.objects.get(pk=dataset_id).sent_at
    assert sent_at is not None and len(sent_tasks) == 1

    assert datasets_send_unsent() == []
    assert len(sent_tasks) == 1
    assert Dataset.objects.get(pk=dataset_id).sent_at == sent_at


def test_a_second_sweep_while_the_first_is_sending_does_not_send_the_dataset_again(
    api, in_background, monkeypatch
):
    """Sweeps overlap (beat's, and every worker's start): the dataset is marked sent before its
    message goes, so the other sweep leaves it alone rather than having it read twice."""
    from downhill.celery import app
    from downhill.dispatch import datasets_send_unsent

    dataset_id = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]  # not sent yet
    sent, overlapping = [], []

    def send_during_another_sweep(name, **options):
        if not overlapping:
            overlapping.append(datasets_send_unsent())
        sent.append(options["args"])

    monkeypatch.setattr(app, "send_task", send_during_another_sweep)

    assert datasets_send_unsent() == [dataset_id]
    assert overlapping == [[]] and sent == [[dataset_id]]


# --- processing -> failed -----------------------------------------------------------------

HOSTILE = {
    "ragged": ("data.csv", b"a,b\n1,2\n3,4,5\n", "Line 3"),
    "header only": ("data.csv", b"a,b\n", "no data rows"),
    "NUL bytes": ("data.csv", b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x00\n", "Line 20002"),
    "not UTF-8": ("data.csv", "a,b\n1,é\n".encode("latin-1"), "not UTF-8"),
    "duplicate columns": ("data.csv", b"a,a\n1,2\n", "appears twice"),
    "path traversal": ("x.zip", zip_bytes({"../evil/a.png": b"x"}), ".."),
}


@pytest.mark.parametrize("filename, content, fragment", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_fails_with_the_message_of_an_inline_upload_and_leaves_only_the_row(
    api, settings, media_root, filename, content, fragment
):
    inline, background = inline_and_in_background(api, settings, content, filename)

    assert inline.status_code == 400
    (message,) = inline.json()["errors"]["file"]
    assert fragment.lower() in message.lower()
    assert background["status"] == "failed"
    assert background["error"] == message
    assert background["n_rows"] == 0 and background["columns"] == []
    assert list(Dataset.objects.values_list("status", flat=True)) == ["failed"]
    assert stored_files(media_root) == []


def test_a_missing_target_column_fails_naming_the_field(api, settings):
    content = csv_file(iris_rows()).getvalue()
    _, background = inline_and_in_background(api, settings, content, "iris.csv", target="colour")

    assert background["status"] == "failed"
    assert background["error"].startswith("target: No column named 'colour'.")


def test_a_failed_dataset_has_no_preview_and_can_be_deleted(api, settings, media_root):
    _, background = inline_and_in_background(api, settings, b"a,b\n1,2,3\n", "bad.csv")

    response = api.get(f"{URL}{background['id']}/preview/")
    assert response.status_code == 400 and "could not be read" in response.json()["detail"]
    assert api.delete(f"{URL}{background['id']}/").status_code == 204
    assert not Dataset.objects.exists()


# --- redelivery and races ---------------------------------------------------------------


def test_storage_failing_after_the_read_fails_the_dataset_and_leaves_no_file(
    api, in_background, media_root, monkeypatch
):
    """The disk fills (or the bucket goes away) while the decoded images are stored: the
    dataset must not stay `processing`, and nothing of it stays in storage."""
    from django.core.files.storage import FileSystemStorage

    images, labels = stripes(4)
    response = post_bytes(api, class_folders(images, labels), "stripes.zip")

    def disk_full(self, name, content):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", disk_full)
    process_dataset(response.json()["id"])

    body = api.get(f"{URL}{response.json()['id']}/").json()
    assert body["status"] == "failed"
    assert body["error"] == "The file was read but could not be stored (OSError); upload it again."
    assert stored_files(media_root) == []


def test_a_redelivered_message_changes_nothing(api, in_background, media_root):
    ready = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    failed = post_bytes(api, b"a,b\n1,2,3\n").json()["id"]
    process_dataset(ready)
    process_dataset(failed)
    before = {d.pk: (d.status, d.error, d.sha256, d.file.name) for d in Dataset.objects.all()}
    files = stored_files(media_root)

    process_dataset(ready)
    process_dataset(failed)

    after = {d.pk: (d.status, d.error, d.sha256, d.file.name) for d in Dataset.objects.all()}
    assert after == before and stored_files(media_root) == files


def test_the_datasets_left_processing_are_sent_again(api, in_background, sent_tasks):
    from downhill.dispatch import datasets_resend_processing

    waiting = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    read = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    process_dataset(read)

    assert datasets_resend_processing() == [waiting]
    assert [(t["name"], t["args"]) for t in sent_tasks] == [(PROCESS_DATASET_TASK, [waiting])]
    assert Dataset.objects.get(pk=waiting).sent_at is not None


def test_a_dataset_the_broker_could_not_take_again_at_a_worker_start_is_left_to_the_sweep(
    api, in_background, monkeypatch, django_capture_on_commit_callbacks
):
    from downhill.dispatch import datasets_resend_processing

    with django_capture_on_commit_callbacks(execute=True):
        dataset_id = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    assert Dataset.objects.get(pk=dataset_id).sent_at is not None
    unreachable_broker(monkeypatch)

    assert datasets_resend_processing() == []
    assert Dataset.objects.get(pk=dataset_id).sent_at is None  # what the sweep sends


def test_a_dataset_deleted_while_processing_leaves_nothing_when_its_message_comes(
    api, in_background, media_root, django_capture_on_commit_callbacks
):
    dataset = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}{dataset}/").status_code == 204

    process_dataset(dataset)

    assert not Dataset.objects.exists() and stored_files(media_root) == []


def test_a_processing_dataset_has_no_preview_and_no_experiments_yet(api, in_background):
    dataset = post_bytes(api, csv_file(iris_rows()).getvalue()).json()["id"]

    preview = api.get(f"{URL}{dataset}/preview/")
    assert preview.status_code == 400 and "still being read" in preview.json()["detail"]
    experiment = api.post("/api/v1/experiments/", {"dataset": dataset}, format="json")
    assert experiment.status_code == 400
    assert f"dataset {dataset} is processing, not ready" in experiment.json()["detail"]


def test_an_experiment_on_a_failed_dataset_is_refused(api, settings):
    _, background = inline_and_in_background(api, settings, b"a,b\n1,2,3\n", "bad.csv")

    response = api.post("/api/v1/experiments/", {"dataset": background["id"]}, format="json")
    assert response.status_code == 400
    assert "is failed, not ready" in response.json()["detail"]


# --- the dashboard ------------------------------------------------------------------------


def test_the_dashboard_shows_a_processing_dataset_as_being_read(
    client, user, in_background, api, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):  # sent to the broker
        dataset = post_bytes(api, csv_file(iris_rows()).getvalue(), "iris.csv").json()["id"]

    listing = client.get("/datasets/").content.decode()
    page = client.get(f"/datasets/{dataset}/").content.decode()

    assert "Processing" in listing
    assert "Reading the file" in page and 'data-status="processing"' in page
    assert f"?dataset={dataset}" not in page  # no New experiment button yet


def test_the_statistics_do_not_depend_on_the_chunk_size(monkeypatch):
    """Chunks of one row count value by value; the summaries must agree with larger chunks,
    the distinct cap included (lowered here so that it is reached)."""
    from downhill.datasets import schema

    rng = np.random.default_rng(1)
    lines = ["x,n,word,mixed"]
    for i in range(3000):
        word = ["red", "green", "blue", "NA", f"w{i % 70}"][i % 5]
        mixed = str(i) if i < 2500 else "many"
        lines.append(f"{rng.normal():.3f},{rng.integers(0, 9)},{word},{mixed}")
    content = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(schema, "DISTINCT_CAP", 50)

    described = {}
    for chunk_rows in (1, 7, 8192):
        monkeypatch.setattr(schema, "CHUNK_ROWS", chunk_rows)
        monkeypatch.setattr(schema, "CHUNK_NUMBERS", 0)
        described[chunk_rows] = schema.read_csv_schema(io.BytesIO(content)).columns
    for columns in (described[7], described[8192]):
        for one, other in zip(described[1], columns, strict=True):
            for key in ("dtype", "missing", "distinct", "distinct_capped", "integer", "min", "max"):
                assert one.get(key) == other.get(key), (one["name"], key)
            assert one.get("top_values") == other.get("top_values"), one["name"]
            if "mean" in one:
                assert other["mean"] == pytest.approx(one["mean"])
                assert other["std"] == pytest.approx(one["std"])
            if one.get("histogram") and not one["histogram"]["estimated"]:
                assert one["histogram"] == other["histogram"]


def test_an_upload_a_worker_let_go_is_sent_once_whole_or_failed_once_it_stops_arriving(
    user, settings, media_root, sent_tasks, django_capture_on_commit_callbacks
):
    """A worker lets go of an upload still arriving when another waits (reading_yielded):
    the sweep sends neither such upload; the one that comes whole is sent by its request;
    the one whose bytes stopped (its request died) the sweep fails, as a reader would."""
    from workers.tasks import requeue_stale_runs

    with django_capture_on_commit_callbacks(execute=True):
        slow = dataset_receive(owner=user, file_name="slow.csv", size=10**6)
        dead = dataset_receive(owner=user, file_name="dead.csv", size=10**6)
    assert [t["args"] for t in sent_tasks] == [[slow.id], [dead.id]]
    reading_yielded(slow.id)
    reading_yielded(dead.id)
    assert Dataset.objects.get(pk=slow.id).sent_at is None
    dead_path = default_storage.path(dead.file.name)
    long_ago = time.time() - settings.DOWNHILL_UPLOAD_STALL_SECONDS - 1
    os.utime(dead_path, (long_ago, long_ago))

    requeue_stale_runs()

    assert len(sent_tasks) == 2  # neither was sent again while it arrives
    failed = Dataset.objects.get(pk=dead.id)
    assert (failed.status, failed.error) == (
        "failed",
        f"No byte of the upload arrived for {settings.DOWNHILL_UPLOAD_STALL_SECONDS} s; "
        "upload it again.",
    )
    assert not os.path.exists(dead_path)
    assert Dataset.objects.get(pk=slow.id).status == "processing"

    content = csv_file(iris_rows()).getvalue()
    with open(default_storage.path(slow.file.name), "wb") as stored:
        stored.write(content)
    with django_capture_on_commit_callbacks(execute=True):
        dataset_received(
            upload=ReceivedUpload(slow.id, "slow.csv", len(content)), name="", target=""
        )
    assert [t["args"] for t in sent_tasks[2:]] == [[slow.id]]
    process_dataset(slow.id)  # as the datasets worker does with the message
    assert Dataset.objects.get(pk=slow.id).status == "ready"


def test_a_reader_lets_go_for_an_upload_that_waits_not_for_one_another_worker_reads(
    user, media_root, sent_tasks, django_capture_on_commit_callbacks
):
    """Several datasets workers: an upload whose message waits is a reason to let go of one
    still arriving (others_waiting); one that another worker reads is not, or each worker
    would let go of its own slow upload for the other's. process_dataset marks what it reads;
    letting go (reading_yielded) unmarks it, and it waits again once sent."""
    with django_capture_on_commit_callbacks(execute=True):
        mine = dataset_receive(owner=user, file_name="mine.csv", size=10**6)
        theirs = dataset_receive(owner=user, file_name="theirs.csv", size=10**6)
    assert others_waiting(mine.id) and others_waiting(theirs.id)  # each one's message waits

    content = csv_file(iris_rows()).getvalue()
    with open(default_storage.path(theirs.file.name), "wb") as stored:
        stored.write(content)
    dataset_received(
        upload=ReceivedUpload(theirs.id, "theirs.csv", len(content)), name="", target=""
    )
    process_dataset(theirs.id)  # as the other worker does with the message
    read = Dataset.objects.get(pk=theirs.id)
    assert read.status == "ready" and read.read_started_at is not None

    # While another worker reads it (marked, still processing), nobody waits.
    Dataset.objects.filter(pk=theirs.id).update(status="processing")
    assert not others_waiting(mine.id)
    # That worker lets go of it, whole by now: unmarked and sent again, it waits once more.
    reading_yielded(theirs.id)
    assert Dataset.objects.get(pk=theirs.id).read_started_at is None
    assert [t["args"] for t in sent_tasks] == [[mine.id], [theirs.id], [theirs.id]]
    assert others_waiting(mine.id)
    # Taken again, then sent once more (a datasets worker's start sends every one processing):
    # the new message waits for a worker whatever the last one's reader does.
    Dataset.objects.filter(pk=theirs.id).update(read_started_at=read.read_started_at)
    assert not others_waiting(mine.id)
    assert send_dataset(theirs.id, unsent_only=False)
    assert others_waiting(mine.id)
