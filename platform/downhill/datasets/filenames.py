"""What an upload's own file name may become: a dataset's default name, never a path. Stored
files get generated names (services.py), so the client's name reaches no file system; this
keeps it readable too: the last part of any path (POSIX or Windows), no control or
direction-changing characters, no leading dots."""

from __future__ import annotations

import os
import re
import unicodedata

# Control characters, and format characters such as U+202E (right-to-left override), which
# can make "exe.csv" read as "vsc.exe".
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}


def upload_stem(filename: str | None, *, max_length: int) -> str:
    """The file's name without folders or extension, cleaned; "" when nothing is left."""
    base = re.split(r"[\\/]", filename or "")[-1]
    stem = os.path.splitext(base)[0]
    stem = "".join(c for c in stem if unicodedata.category(c) not in _HIDDEN)
    return stem.strip().lstrip(".").strip()[:max_length]
