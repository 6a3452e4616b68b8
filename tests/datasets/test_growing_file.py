"""GrowingFile: a file read while another thread still writes it, as the datasets worker
reads an upload the request is storing."""

from __future__ import annotations

import os
import threading
import time

import pytest

from downhill.datasets.growing import GrowingFile, UploadGone, UploadStalled, UploadYielded


class Upload:
    """A file written in pieces by a thread, and whether its upload still arrives."""

    def __init__(self, path, pieces: list[bytes], pause: float = 0.05):
        self.path, self.arriving = path, True
        path.write_bytes(b"")

        def write():
            with open(path, "ab") as out:
                for piece in pieces:
                    time.sleep(pause)
                    out.write(piece)
                    out.flush()
            self.arriving = False

        self.thread = threading.Thread(target=write)
        self.thread.start()


def test_reads_every_byte_as_it_arrives_and_ends_when_the_upload_is_whole(tmp_path):
    pieces = [os.urandom(n) for n in (10, 70_000, 1, 300_000)]
    upload = Upload(tmp_path / "up.csv", pieces)
    with GrowingFile(str(upload.path), lambda: upload.arriving, stall_seconds=30) as growing:
        read = []
        while chunk := growing.read(65536):
            read.append(chunk)
    assert b"".join(read) == b"".join(pieces)
    assert not upload.arriving


def test_a_seek_from_the_end_waits_for_the_whole_file(tmp_path):
    upload = Upload(tmp_path / "up.zip", [b"a" * 100, b"b" * 50], pause=0.2)
    with GrowingFile(str(upload.path), lambda: upload.arriving, stall_seconds=30) as growing:
        assert growing.seek(-10, os.SEEK_END) == 140
        assert growing.read(10) == b"b" * 10


def test_an_upload_that_stops_arriving_raises_stalled(tmp_path):
    path = tmp_path / "up.csv"
    path.write_bytes(b"x,y\n1,2\n")
    with GrowingFile(str(path), lambda: True, stall_seconds=0.3) as growing:
        assert growing.read(100) == b"x,y\n1,2\n"
        started = time.monotonic()
        with pytest.raises(UploadStalled, match="No byte of the upload arrived for 0.3 s"):
            growing.read(100)
    assert 0.3 <= time.monotonic() - started < 2


def test_a_dataset_gone_meanwhile_ends_the_read(tmp_path):
    path = tmp_path / "up.csv"
    path.write_bytes(b"x,y\n")

    def gone():
        raise UploadGone

    with GrowingFile(str(path), gone, stall_seconds=30) as growing:
        assert growing.read(100) == b"x,y\n"
        with pytest.raises(UploadGone):
            growing.read(100)


def test_a_reader_that_caught_up_yields_when_another_upload_waits(tmp_path):
    path = tmp_path / "up.csv"
    path.write_bytes(b"x,y\n1,2\n")
    waiting = []
    with GrowingFile(
        str(path), lambda: True, stall_seconds=30, should_yield=lambda: bool(waiting)
    ) as growing:
        assert growing.read(100) == b"x,y\n1,2\n"  # what is there is read, nobody waits
        waiting.append("another upload")
        started = time.monotonic()
        with pytest.raises(UploadYielded):
            growing.read(100)
    assert time.monotonic() - started < 2
