"""An NPZ upload: arrays `X` and `y`, as `np.savez("data.npz", X=X, y=y)` writes them.

`X` of n × d numbers is a table: columns `x0` … `x{d-1}` and the target `y`. `X` of
n × h × w (grayscale) or n × h × w × c (c = 1 or 3, channels last) is a set of images:
columns `image` and `y`. `y` holds one label (text or number) or value per row.

Arrays are loaded with `np.load(..., allow_pickle=False)` only: an array of Python objects
would need pickle, which can run code, so it is refused. Each array's header is read first,
so its dtype is judged and its declared size checked against the archive member before
NumPy allocates anything.
"""

from __future__ import annotations

import math
import zipfile
import zlib

import numpy as np

from .archive import SafeArchive, shown
from .columns import image_column, numeric_column, target_column
from .intake import Intake
from .schema import DatasetFileError, check_column_count

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
LABEL_KINDS = NUMERIC_KINDS + "U"
IMAGE_CHANNELS = (1, 3)
MAX_PIXEL = 255
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def read_npy_header(stream) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) from the start of a .npy stream; ValueError if invalid."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError(f"unsupported .npy format version {version}")


def _header(archive: SafeArchive, info: zipfile.ZipInfo, key: str) -> tuple[tuple, np.dtype]:
    """The array's shape and dtype from its .npy header, checked before the data is read."""
    with archive.open(info) as member:
        try:
            shape, _, dtype = read_npy_header(member)
        except ValueError as exc:
            raise DatasetFileError(
                f"The array {key} ({shown(info.filename)}) is not a valid .npy array: {exc}."
            ) from exc
        except _READ_ERRORS as exc:
            raise archive.corrupt(info, exc) from exc
    if dtype.hasobject:
        raise DatasetFileError(
            f"The array {key} holds Python objects, which only pickle can load, and uploads are "
            f"loaded without pickle (it can run code). Save plain numbers{' or text' if key == 'y' else ''}: "
            f"np.savez('data.npz', X=X.astype('float32'), y=y)."
        )
    kinds = NUMERIC_KINDS if key == "X" else LABEL_KINDS
    if dtype.kind not in kinds:
        wanted = "real numbers" if key == "X" else "real numbers or text"
        raise DatasetFileError(f"The array {key} has dtype {dtype}; it must hold {wanted}.")
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size:
        raise DatasetFileError(
            f"The array {key} declares {declared:,} bytes of data, more than its member "
            f"{shown(info.filename)} holds ({info.file_size:,} bytes): the file is corrupt."
        )
    return shape, dtype


def _load(archive: SafeArchive, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    _header(archive, info, key)
    with archive.open(info) as member:
        try:
            return np.load(member, allow_pickle=False)
        except ValueError as exc:  # e.g. data shorter than the header says
            raise DatasetFileError(f"The array {key} cannot be loaded: {exc}.") from exc
        except _READ_ERRORS as exc:
            raise archive.corrupt(info, exc) from exc


def _first(mask: np.ndarray) -> tuple[int, ...]:
    """The index of the first True in `mask`."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _check_x(x: np.ndarray) -> None:
    if x.ndim not in (2, 3, 4):
        raise DatasetFileError(
            f"X has shape {x.shape}; it must be rows × features (n × d) or images "
            "(n × height × width, or n × height × width × channels)."
        )
    if x.shape[0] == 0:
        raise DatasetFileError("X and y hold no rows.")
    if x.ndim == 4 and x.shape[3] not in IMAGE_CHANNELS:
        hint = ""
        if x.shape[1] in IMAGE_CHANNELS:
            hint = " For channels-first arrays (n, c, h, w) save X.transpose(0, 2, 3, 1)."
        raise DatasetFileError(
            f"X has shape {x.shape}: images must have their channels last, 1 (grayscale) "
            f"or 3 (RGB), not {x.shape[3]}.{hint}"
        )
    if 0 in x.shape[1:]:
        raise DatasetFileError(f"X has shape {x.shape}: a row of it holds nothing.")
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            where = _first(bad)
            raise DatasetFileError(
                f"X[{', '.join(map(str, where))}] is {x[where]}: X must hold finite numbers."
            )


def _check_y(y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetFileError(
            f"y has shape {y.shape}; it must hold one label or value per row, shape ({n},)."
        )
    if len(y) != n:
        raise DatasetFileError(f"X has {n:,} rows but y has {len(y):,}; they must match.")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            (i,) = _first(bad)
            raise DatasetFileError(f"y[{i}] is {y[i]}: every row needs a label or value.")
    if y.dtype.kind == "U":
        empty = np.char.strip(y) == ""
        if empty.any():
            (i,) = _first(empty)
            raise DatasetFileError(f"y[{i}] is an empty label: every row needs one.")
    return y


def _pixel_scale(x: np.ndarray) -> float:
    """What to divide the pixels by to bring them into [0, 1]: 255 for bytes (uint8) and for
    any array reaching above 1, else 1 (the pixels already are fractions)."""
    lo, hi = x.min(), x.max()
    if lo < 0 or hi > MAX_PIXEL:
        raise DatasetFileError(
            f"X holds pixel values from {lo:g} to {hi:g}; images need values from 0 to 255 "
            "(or from 0 to 1)."
        )
    return float(MAX_PIXEL) if x.dtype == np.uint8 or hi > 1 else 1.0


def read_npz(archive: SafeArchive) -> Intake:
    members = {info.filename: info for info in archive.members}
    missing = [key for key in ("X", "y") if f"{key}.npy" not in members]
    if missing:
        held = ", ".join(sorted(name.removesuffix(".npy") for name in members)) or "nothing"
        raise DatasetFileError(
            f"The NPZ file has no array named {' or '.join(missing)}; it needs X (features or "
            f"images) and y (labels or values), as np.savez('data.npz', X=X, y=y) writes them. "
            f"It holds: {held:.300}."
        )
    x = _load(archive, members["X.npy"], "X")
    y = _load(archive, members["y.npy"], "y")
    _check_x(x)
    y = _check_y(y, len(x))
    details = {
        "x_shape": list(x.shape),
        "x_dtype": str(x.dtype),
        "y_dtype": str(y.dtype),
        "ignored_arrays": sorted(n for n in members if n not in ("X.npy", "y.npy")),
    }
    if x.ndim == 2:
        check_column_count(x.shape[1] + 1, where="Array X (with y)")
        columns = [numeric_column(f"x{j}", x[:, j]) for j in range(x.shape[1])]
        details["kind"] = "table"
    else:
        height, width = x.shape[1:3]
        shape = (1 if x.ndim == 3 else x.shape[3], height, width)
        scale = _pixel_scale(x)
        columns = [image_column("image", shape, scale)]
        details.update(kind="images", image_shape=list(shape), pixel_scale=scale)
    columns.append(target_column("y", y))
    return Intake(format="npz", n_rows=len(x), columns=columns, target="y", details=details)
