"""Reading a file while its bytes still arrive: a large upload, which the request writes as it
streams in (receiving.py) and the datasets worker reads at the same time.

A read at the current end waits for more, looking every POLL_SECONDS at the file and every
CHECK_SECONDS at whether the upload still arrives (`still_arriving`, which raises UploadGone
once the dataset was deleted or failed); it ends when the upload is whole and read to its end.
While it waits it also asks whether another upload waits for the worker (`should_yield`):
then it raises UploadYielded, and the upload is read again once whole, not holding the
worker for as long as a slow link takes.
A seek from the end waits for the whole file first (a ZIP's directory, a Parquet footer).
No Django here: the caller says how to ask.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable

POLL_SECONDS = 0.01
CHECK_SECONDS = 0.25


class UploadGone(Exception):
    """The dataset was deleted, or failed, while its upload arrived: nothing is left to do."""


class UploadStalled(Exception):
    """No byte arrived for `stall_seconds` while the upload was said to be arriving."""


def stalled_message(seconds: float) -> str:
    return f"No byte of the upload arrived for {seconds:g} s; upload it again."


class UploadYielded(Exception):
    """The reader caught up with an upload still arriving while another waits for the worker."""


class GrowingFile(io.RawIOBase):
    def __init__(
        self,
        path: str,
        still_arriving: Callable[[], bool],
        *,
        stall_seconds: float,
        should_yield: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed with this file)
        self.name = path
        self.still_arriving = still_arriving
        self.should_yield = should_yield
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.whole = False
        self.checked = self.grew = clock()
        self.size = os.fstat(self.raw.fileno()).st_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            n = self.raw.readinto(buffer)
            if n or self.whole:
                return n
            self._wait()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        while whence == os.SEEK_END and not self.whole:
            self._wait()
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _wait(self) -> None:
        """Sleep a moment; note whether the upload is whole (then one more read finds the
        rest), or raise UploadStalled when nothing arrived for too long, UploadYielded when
        another upload waits."""
        now = self.clock()
        size = os.fstat(self.raw.fileno()).st_size
        if size != self.size:
            self.size, self.grew = size, now
        if now - self.checked >= CHECK_SECONDS or now - self.grew >= self.stall_seconds:
            self.checked = now
            if not self.still_arriving():  # after its last byte was written
                self.whole = True
                return
            if now - self.grew >= self.stall_seconds:
                raise UploadStalled(stalled_message(self.stall_seconds))
            if self.should_yield():
                raise UploadYielded
        time.sleep(POLL_SECONDS)
