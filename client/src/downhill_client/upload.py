"""A multipart body streamed from a file in chunks, so a file of any size is sent in flat
memory, with a known length (the server refuses a file over its limit before reading it)."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

CHUNK_BYTES = 1 << 20

Progress = Callable[[int, int], None]  # (bytes sent, total bytes)


class MultipartUpload:
    def __init__(self, path: Path, fields: dict[str, str], progress: Progress | None = None):
        self.path = path
        self.boundary = uuid.uuid4().hex
        self.progress = progress or (lambda sent, total: None)
        self.head = b"".join(self._field(name, value) for name, value in fields.items())
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        filename = path.name.replace('"', "%22").replace("\r", "").replace("\n", "")
        self.head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.file_size = path.stat().st_size
        self.length = len(self.head) + self.file_size + len(self.tail)

    def _field(self, name: str, value: str) -> bytes:
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.length),
        }

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        sent = 0
        with self.path.open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                sent += len(chunk)
                yield chunk
                self.progress(sent, self.file_size)
        if sent != self.file_size:  # the file changed under us: never send a wrong length
            raise OSError(f"{self.path} changed size while it was being sent.")
        yield self.tail
