"""The form of a large dataset upload, read in pieces of megabytes: its text fields kept, its
file handed to the request's StreamedUpload (datasets/receiving.py) as it arrives.

Django's multipart parser reads a body in small pieces and copies each several times; on a
1 GB upload that cost the web process more CPU than the worker spent reading the CSV
(BENCHMARKS.md, Ingest). This reader takes the body as the form the API documents
(multipart/form-data, RFC 7578): parts of text fields and files, in any order, each with a
Content-Disposition naming it. The first file part named `file` goes to the handler; any
other file part is read past (the API reads no other); text fields count against
DATA_UPLOAD_MAX_MEMORY_SIZE and DATA_UPLOAD_MAX_NUMBER_FIELDS as Django counts them. Anything
else (no closing boundary, a part without a name, a transfer encoding) is a FormError naming
the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from django.conf import settings
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters

READ_BYTES = 1024 * 1024  # a read waits for this much: the worker is at most this far behind
MAX_HEADER_BYTES = 16 * 1024


class FormError(ValueError):
    pass


class _Body:
    """The body's bytes from a stream, with what was read but not yet used kept in front."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.pending = b""
        self.ended = False

    def more(self) -> bool:
        """Read another piece; False at the end of the body."""
        data = b"" if self.ended else self.stream.read(READ_BYTES)
        self.ended = not data
        self.pending += data
        return bool(data)

    def until(self, marker: bytes, *, limit: int | None = None) -> Iterator[bytes | memoryview]:
        """The bytes up to `marker` (which is consumed), in pieces; FormError when the body
        ends first, or when `limit` bytes pass without it."""
        passed, keep = 0, len(marker) - 1
        while True:
            at = self.pending.find(marker)
            if at >= 0:
                piece, self.pending = self.pending[:at], self.pending[at + len(marker) :]
                yield piece
                return
            if len(self.pending) > keep:  # all but what may be the marker's start
                cut = len(self.pending) - keep
                # A view, not a copy: the piece is the megabyte just read, but its last bytes.
                piece, self.pending = memoryview(self.pending)[:cut], self.pending[cut:]
                passed += len(piece)
                if limit is not None and passed > limit:
                    raise FormError("a part's headers are too long")
                yield piece
            if not self.more():
                raise FormError("the body ended before its closing boundary")

    def take(self, n: int) -> bytes:
        while len(self.pending) < n and self.more():
            pass
        taken, self.pending = self.pending[:n], self.pending[n:]
        return taken


def _headers(body: _Body) -> dict[str, str]:
    raw = b"".join(body.until(b"\r\n\r\n", limit=MAX_HEADER_BYTES)).decode("latin-1")
    headers = {}
    for line in raw.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise FormError(f"a part's header line has no colon: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def read_form(
    stream: BinaryIO, boundary: bytes, take_file: Callable[[str], object]
) -> tuple[QueryDict, MultiValueDict]:
    """The form's text fields and its `file`: `take_file(file_name)` for the first file part
    named `file` returns where its bytes go (write(bytes), then finish() -> the file)."""
    body, delimiter = _Body(stream), b"--" + boundary
    for _ in body.until(delimiter, limit=MAX_HEADER_BYTES):  # a preamble, if any
        pass
    data, files, text = QueryDict(mutable=True), MultiValueDict(), _TextFields()
    while (after := body.take(2)) != b"--":  # CRLF before a part, "--" after the last
        if after != b"\r\n":
            raise FormError("a boundary is not followed by a line end")
        name, file_name = _disposition(_headers(body))
        pieces = body.until(b"\r\n" + delimiter)
        if file_name and name == "file" and "file" not in files:
            writer = take_file(file_name)
            for piece in pieces:
                writer.write(piece)
            files["file"] = writer.finish()
        elif file_name is not None:
            for _ in pieces:  # a file the API does not read, or one with no usable name
                pass
        else:
            data.appendlist(name, text.add(name, b"".join(pieces)))
    while body.more():  # an epilogue, if any
        body.pending = b""
    data._mutable = False
    return data, files


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    """A part's field name and its file's name: None for a text field, "" for a file whose
    name is unusable (Django's sanitize_file_name, which uses no state of its parser)."""
    if "content-transfer-encoding" in headers:
        raise FormError("a part has a Content-Transfer-Encoding; send the bytes as they are")
    kind, params = parse_header_parameters(headers.get("content-disposition", ""))
    if kind != "form-data" or not params.get("name"):
        raise FormError("a part has no Content-Disposition: form-data with a name")
    if "filename" not in params:
        return params["name"], None
    return params["name"], MultiPartParser.sanitize_file_name(None, params["filename"]) or ""


class _TextFields:
    """Text fields counted against Django's limits, as its parser counts them."""

    def __init__(self):
        self.fields = self.size = 0

    def add(self, name: str, value: bytes) -> str:
        self.fields += 1
        self.size += len(name) + len(value)
        if self.fields > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
            raise FormError("the form has more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS")
        if self.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise FormError("the form's text fields are over DATA_UPLOAD_MAX_MEMORY_SIZE")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError(f"the text field '{name}' is not UTF-8") from exc
