"""A large upload read while it arrives, on real components: a client that sends its body in
pieces to the live server, a real worker process on the `datasets` queue reading the stored
file as the request writes it."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import time
from urllib.parse import urlparse

import pytest
import requests

from downhill.datasets.schema import read_csv_schema
from tests.conftest import purge_queue
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_background_ingest import datasets_worker, wait_until_read
from workers.contract.tasks import DATASETS_QUEUE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOUNDARY = "downhill-test-boundary"
# More than the worker's first block (8 MiB) and the request's read (1 MiB): the worker has
# read and summarised a block before the rest is sent.
FIRST_PART = 10 * 1024 * 1024


def csv_bytes(rows: int, ragged_line: int | None = None) -> bytes:
    lines = ["x,y,label"] + [f"{i % 997},{i * 0.25:.2f},{'ab'[i % 2]}" for i in range(rows)]
    if ragged_line:
        lines[ragged_line - 1] += ",extra"
    return ("\n".join(lines) + "\n").encode()


class SlowUpload:
    """A multipart upload of `content` to POST /api/v1/datasets/, sent when asked, piece by
    piece, as a slow client's would arrive; `name` goes after the file."""

    def __init__(
        self, client_api, content: bytes, *, name: str = "streamed", target="", headers=None
    ):
        url = urlparse(client_api.base)
        headers = headers or {"Authorization": client_api.session.headers["Authorization"]}
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        self.tail = (
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{name}'
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="target"\r\n\r\n{target}'
            f"\r\n--{BOUNDARY}--\r\n"
        ).encode()
        self.content, self.sent = content, 0
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.conn.putrequest("POST", "/api/v1/datasets/")
        for header, value in headers.items():
            self.conn.putheader(header, value)
        self.conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        length = len(self.head) + len(content) + len(self.tail)
        self.conn.putheader("Content-Length", str(length))
        self.conn.endheaders()
        self.conn.send(self.head)

    def send(self, n: int) -> None:
        self.conn.send(self.content[self.sent : self.sent + n])
        self.sent += n

    def finish(self) -> tuple[int, dict]:
        self.conn.send(self.content[self.sent :])
        self.conn.send(self.tail)
        response = self.conn.getresponse()
        body = json.loads(response.read())
        self.conn.close()
        return response.status, body


def stored_csvs(media_root) -> set:
    return set(media_root.rglob("*.csv"))


def the_dataset(client_api, predicate, timeout: float = 30.0) -> dict:
    """The only dataset listed, once `predicate` holds for it."""
    deadline = time.monotonic() + timeout
    while True:
        listed = client_api.get("/datasets/").json()["results"]
        if len(listed) == 1 and predicate(listed[0]):
            return listed[0]
        assert time.monotonic() < deadline, listed
        time.sleep(0.1)


def test_a_large_upload_is_read_while_it_arrives_and_ready_once_whole(
    client_api, settings, tmp_path, shared_media_root
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    purge_queue(DATASETS_QUEUE)
    content = csv_bytes(900_000)  # about 16 MB
    with datasets_worker(tmp_path / "datasets.log", shared_media_root):
        upload = SlowUpload(client_api, content, name="sensor log", target="x")
        upload.send(FIRST_PART)
        arriving = the_dataset(client_api, lambda d: d["receiving"])
        assert arriving["status"] == "processing" and arriving["name"] == "big"
        time.sleep(1.0)  # the worker reads what is there, then waits for the rest
        assert client_api.get(f"/datasets/{arriving['id']}/").json()["status"] == "processing"

        status, created = upload.finish()
        assert status == 201, created
        assert created["id"] == arriving["id"] and created["receiving"] is False
        assert created["name"] == "sensor log" and created["size_bytes"] == len(content)
        dataset = wait_until_read(client_api, created["id"])

    assert dataset["status"] == "ready", dataset["error"]
    # The form's target, sent after the file, is the one read (not the default, `label`).
    assert (dataset["target"], dataset["task"]) == ("x", "regression")
    whole = read_csv_schema(io.BytesIO(content))
    assert dataset["n_rows"] == whole.n_rows == 900_000
    assert dataset["columns"] == json.loads(json.dumps(whole.columns))
    assert dataset["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_slow_upload_lets_the_worker_go_to_another_and_is_read_once_whole(
    client_api, settings, tmp_path, shared_media_root
):
    """One `datasets` worker: an upload arriving slowly does not hold it while another
    waits; the other is read first, and the slow one once its last byte is in."""
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    purge_queue(DATASETS_QUEUE)
    content = csv_bytes(900_000)
    with datasets_worker(tmp_path / "datasets.log", shared_media_root):
        slow = SlowUpload(client_api, content, name="slow")
        slow.send(FIRST_PART)
        arriving = the_dataset(client_api, lambda d: d["receiving"])
        time.sleep(1.0)  # the worker reads what is there, then waits for the rest

        other = client_api.upload([["a", "b"], [1, 2], [3, 4]], name="other.csv")
        assert wait_until_read(client_api, other["id"], timeout=20)["status"] == "ready"
        still = client_api.get(f"/datasets/{arriving['id']}/").json()
        assert (still["status"], still["receiving"]) == ("processing", True)

        status, created = slow.finish()
        assert status == 201, created
        dataset = wait_until_read(client_api, created["id"])
    assert dataset["status"] == "ready", dataset["error"]
    assert dataset["n_rows"] == 900_000 and dataset["name"] == "slow"
    assert dataset["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_bad_line_fails_the_upload_before_its_last_byte(
    client_api, settings, tmp_path, shared_media_root
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    purge_queue(DATASETS_QUEUE)
    content = csv_bytes(900_000, ragged_line=3)
    before = stored_csvs(shared_media_root)  # the folder is the session's
    with datasets_worker(tmp_path / "datasets.log", shared_media_root):
        upload = SlowUpload(client_api, content)
        upload.send(FIRST_PART)
        failed = the_dataset(client_api, lambda d: d["status"] == "failed")
        assert failed["receiving"] is True  # most of the file is still to come
        assert failed["error"] == "Line 3: expected 3 fields like the header, found 4."

        status, created = upload.finish()
    assert status == 201 and created["status"] == "failed" and not created["receiving"]
    assert stored_csvs(shared_media_root) == before  # a failed upload's file is removed


def test_an_upload_whose_client_is_lost_leaves_nothing(
    client_api, settings, tmp_path, shared_media_root
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    purge_queue(DATASETS_QUEUE)
    before = stored_csvs(shared_media_root)  # the folder is the session's
    with datasets_worker(tmp_path / "datasets.log", shared_media_root):
        upload = SlowUpload(client_api, csv_bytes(900_000))
        upload.send(FIRST_PART)
        the_dataset(client_api, lambda d: d["receiving"])
        upload.conn.close()  # the client goes away mid-upload

        deadline = time.monotonic() + 30
        while client_api.get("/datasets/").json()["count"]:
            assert time.monotonic() < deadline, "the dataset of a lost upload is still listed"
            time.sleep(0.1)
        # The worker gave up on it and reads the next upload.
        after = client_api.upload([["a", "b"], [1, 2], [3, 4]], name="next.csv")
        assert wait_until_read(client_api, after["id"])["status"] == "ready"
    assert len(stored_csvs(shared_media_root) - before) == 1  # the next upload's alone


def test_an_upload_that_stops_arriving_fails_saying_so(
    client_api, settings, tmp_path, shared_media_root
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    purge_queue(DATASETS_QUEUE)
    log = tmp_path / "datasets.log"
    with datasets_worker(log, shared_media_root, DOWNHILL_UPLOAD_STALL_SECONDS="2"):
        upload = SlowUpload(client_api, csv_bytes(900_000))
        upload.send(FIRST_PART)
        failed = the_dataset(client_api, lambda d: d["status"] == "failed", timeout=30)
        assert failed["error"] == "No byte of the upload arrived for 2 s; upload it again."
        status, created = upload.finish()
    assert status == 201 and created["status"] == "failed"


def test_an_upload_from_a_signed_in_page_is_read_while_it_arrives_too(
    client_api, live_server, settings, tmp_path, shared_media_root
):
    """The dashboard's upload: a session and its CSRF token, whose check reads the form
    before the view runs."""
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    purge_queue(DATASETS_QUEUE)
    browser = requests.Session()
    browser.get(f"{live_server.url}/login/")
    token = browser.cookies["csrftoken"]
    signed_in = browser.post(
        f"{live_server.url}/login/",
        data={"username": "ada", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert "sessionid" in browser.cookies, signed_in.text[:500]
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    token = browser.cookies["csrftoken"]  # a new one since signing in
    content = csv_bytes(900_000)
    forged = SlowUpload(client_api, content, headers={"Cookie": cookies, "X-CSRFToken": "x" * 32})
    assert forged.finish()[0] == 403
    assert client_api.get("/datasets/").json()["count"] == 0  # its dataset went with it
    with datasets_worker(tmp_path / "datasets.log", shared_media_root):
        upload = SlowUpload(client_api, content, headers={"Cookie": cookies, "X-CSRFToken": token})
        upload.send(FIRST_PART)
        the_dataset(client_api, lambda d: d["receiving"])
        status, created = upload.finish()
        assert status == 201, created
        assert wait_until_read(client_api, created["id"])["n_rows"] == 900_000
