"""Opening an uploaded ZIP (an NPZ is one too) without trusting it.

Everything is checked from the archive's directory before a byte is decompressed: member
names (no absolute paths, drive letters or `..`), member types (no symlinks, no encryption,
only stored or deflate compression), the number of entries, the total uncompressed size and
each member's compression ratio. Then, while a member is read, its bytes are counted and
reading stops at its declared size, so the directory cannot understate what comes out: the
declared sizes add up to at most the limit, and no member yields more than it declared.

Why only stored and deflate: Python decompresses bzip2 and LZMA members without an output
bound per call, so a lying member could expand without limit before it is counted. Every
common ZIP tool, and NumPy's savez, writes stored or deflate members.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from .schema import DatasetFileError

READABLE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
# A directory record is 46 bytes plus the member's name and extra fields; 1 KiB per allowed
# entry is far above what real archives use, and keeps a lying entry count from making
# zipfile parse millions of records.
DIRECTORY_BYTES_PER_ENTRY = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: float

    @classmethod
    def from_settings(cls) -> ArchiveLimits:
        return cls(
            max_entries=settings.DOWNHILL_ZIP_MAX_ENTRIES,
            max_uncompressed_bytes=settings.DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB * 2**20,
            max_ratio=settings.DOWNHILL_ZIP_MAX_RATIO,
        )


def shown(name: str) -> str:
    """A member name for a message: quoted, and cut short if very long."""
    return repr(name if len(name) <= 160 else name[:160] + "…")


def _megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


class _CountingReader(io.RawIOBase):
    """A member's bytes as they come out of the decompressor, counted; more than `cap`
    is an error. Seekable when the member is (np.load peeks at the magic and steps back)."""

    def __init__(self, inner: BinaryIO, cap: int, name: str):
        self.inner, self.cap, self.name = inner, cap, name
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = self.inner.seek(offset, whence)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.position += n
        if self.position > self.cap:
            raise DatasetFileError(
                f"The archive member {shown(self.name)} holds more data than its directory entry "
                f"declares ({self.cap:,} bytes): the archive is corrupt or built to mislead."
            )
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


class SafeArchive:
    """A ZIP whose directory passed every check; `members` are its files (no directories)."""

    def __init__(self, raw: BinaryIO, limits: ArchiveLimits, kind: str = "ZIP archive"):
        self.kind = kind
        _check_end_record(raw, limits, kind)
        try:
            self.zip = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
            raise DatasetFileError(f"The file is not a valid {kind}: {exc}.") from exc
        self.members = _checked_members(self.zip.infolist(), limits, kind)

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.zip.close()  # the upload itself stays open: zipfile never closes a file it was given

    def open(self, info: zipfile.ZipInfo) -> _CountingReader:
        try:
            inner = self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise self.corrupt(info, exc) from exc
        return _CountingReader(inner, info.file_size, info.filename)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        with self.open(info) as member:
            try:
                return member.read()
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise self.corrupt(info, exc) from exc

    def corrupt(self, info: zipfile.ZipInfo, exc: Exception) -> DatasetFileError:
        return DatasetFileError(
            f"The archive member {shown(info.filename)} cannot be read: the {self.kind} is "
            f"corrupt ({exc})."
        )


def _check_end_record(raw: BinaryIO, limits: ArchiveLimits, kind: str) -> None:
    """The entry count and directory size the archive declares, before zipfile parses (and
    holds in memory) every directory record."""
    try:
        end = zipfile._EndRecData(raw)  # what ZipFile itself reads first; stable since Python 2
    except (OSError, EOFError, ValueError):
        end = None
    if end is None:
        raise DatasetFileError(f"The file is not a valid {kind}: no ZIP end-of-directory record.")
    entries, directory_bytes = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if entries > limits.max_entries:
        raise DatasetFileError(
            f"The {kind} has {entries:,} entries; the limit is {limits.max_entries:,} "
            "(DOWNHILL_ZIP_MAX_ENTRIES)."
        )
    if directory_bytes > limits.max_entries * DIRECTORY_BYTES_PER_ENTRY:
        raise DatasetFileError(
            f"The {kind}'s directory takes {_megabytes(directory_bytes)}, more than "
            f"{limits.max_entries:,} entries (DOWNHILL_ZIP_MAX_ENTRIES) can need."
        )


def _path_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.orig_filename
    parts = re.split(r"[\\/]", name)
    if "\x00" in name:
        return "has a NUL character in its name"
    if name.startswith(("/", "\\")):
        return "has an absolute path"
    if _DRIVE.match(name):
        return f"names a drive ({name[:2]})"
    if ".." in parts:
        return "leads outside the archive (a '..' in its path)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link; the archive must hold plain files and folders only"
    if info.flag_bits & 0x1:
        return "is encrypted; upload an archive without a password"
    return None


def _checked_members(
    infos: list[zipfile.ZipInfo], limits: ArchiveLimits, kind: str
) -> list[zipfile.ZipInfo]:
    if len(infos) > limits.max_entries:
        raise DatasetFileError(
            f"The {kind} has {len(infos):,} entries, more than the limit of "
            f"{limits.max_entries:,} (DOWNHILL_ZIP_MAX_ENTRIES), from member "
            f"{shown(infos[limits.max_entries].filename)} on."
        )
    members = []
    total = 0
    for info in infos:
        problem = _path_problem(info)
        if problem:
            raise DatasetFileError(f"The archive member {shown(info.orig_filename)} {problem}.")
        if info.is_dir():
            continue
        if info.compress_type not in READABLE_COMPRESSION:
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} uses a compression method "
                f"(number {info.compress_type}) this server does not read; create the archive "
                "with standard (deflate) compression."
            )
        total += info.file_size
        if total > limits.max_uncompressed_bytes:
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} takes the {kind}'s uncompressed size "
                f"past the limit of {_megabytes(limits.max_uncompressed_bytes)} "
                "(DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB)."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} expands {ratio:,.0f} times "
                f"({info.compress_size:,} bytes to {info.file_size:,}), more than the limit of "
                f"{limits.max_ratio:g} (DOWNHILL_ZIP_MAX_RATIO): it looks like a zip bomb."
            )
        members.append(info)
    return members
