"""An upload is streamed: the client's memory stays flat whatever the file's size."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FILE_MB = 48
PEAK_LIMIT_MB = 4  # a 1 MiB chunk in flight, httpx's buffers, the interpreter's imports


def write_large_csv(path, megabytes: int) -> None:
    """A valid CSV of about `megabytes` MB, written in blocks (never whole in memory)."""
    block = "".join(f"{i % 97},{i % 13}.5,{(i * 7) % 101},{i % 2}\n" for i in range(20_000))
    with path.open("w") as f:
        f.write("a,b,c,label\n")
        while f.tell() < megabytes * 2**20:
            f.write(block)


def test_a_large_upload_is_sent_in_flat_memory(server, tmp_path, settings):
    # Read inside the request, so the dataset's status says the server got every byte.
    settings.DOWNHILL_INLINE_INGEST_MB = FILE_MB + 16
    path = tmp_path / "large.csv"
    write_large_csv(path, FILE_MB)
    # The client in a process of its own, so the live server's allocations are not counted.
    script = textwrap.dedent(f"""
        import json, tracemalloc
        from downhill_client import Client
        client = Client({server[0]!r}, {server[1]!r})
        client.health()  # imports and connection set up before measuring
        tracemalloc.start()
        dataset = client.datasets.upload({str(path)!r}, wait=False)
        peak = tracemalloc.get_traced_memory()[1]
        print(json.dumps({{"peak": peak, "status": dataset.status, "size": dataset.size_bytes,
                          "rows": dataset.n_rows}}))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["status"] == "ready" and measured["size"] == path.stat().st_size
    assert measured["rows"] > 1_000_000
    assert measured["peak"] < PEAK_LIMIT_MB * 2**20, f"peak {measured['peak'] / 2**20:.1f} MB"
    print(
        f"{path.stat().st_size / 2**20:.0f} MB uploaded, client peak {measured['peak'] / 2**20:.2f} MB"
    )
