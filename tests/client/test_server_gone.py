"""The server going away: a watch retries its reads with backoff and carries on; an upload
cut off midway raises a clear error and leaves nothing on the server."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

import pytest

from downhill_client import Client, ServerUnreachable
from tests.client.proxy import Proxy
from tests.client.test_streamed_upload import write_large_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proxy(server):
    proxy = Proxy(urlparse(server[0]).port)
    yield proxy
    proxy.stop()


def test_watch_rides_out_the_server_going_away(server, client, proxy, iris_csv):
    dataset = client.datasets.upload(iris_csv)
    run_id = client.experiments.create({"dataset": dataset.id, "epochs": 300, "batch_size": 2}).run
    retries: list[str] = []
    through_proxy = Client(
        proxy.url, server[1], on_retry=retries.append, retry_delays=(0.5, 1, 2, 4)
    )
    seen = threading.Event()
    result = {}

    def on_update(snapshot):
        if snapshot.run.status == "running":
            seen.set()

    def watch():
        result["run"] = through_proxy.runs.watch(run_id, on_update, interval=0.2, timeout=180)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert seen.wait(60)
    proxy.stop()
    time.sleep(2)
    proxy.start()
    time.sleep(1)
    client.runs.cancel(run_id)  # ends the watch within seconds of the server being back
    watcher.join(60)
    assert not watcher.is_alive()
    assert result["run"].status == "cancelled"
    assert retries and "does not answer" in retries[0] and "retrying in 0.5 s" in retries[0]


def test_an_upload_cut_off_midway_raises_and_creates_nothing(server, client, proxy, tmp_path):
    path = tmp_path / "data.csv"
    write_large_csv(path, 8)
    proxy.cut_after = 3 * 2**20
    through_proxy = Client(proxy.url, server[1])
    with pytest.raises(ServerUnreachable, match="cannot reach the server") as caught:
        through_proxy.datasets.upload(path)
    assert "keeps nothing" in str(caught.value)
    time.sleep(1)  # the server's request thread sees the short body
    assert client.datasets.list() == []
