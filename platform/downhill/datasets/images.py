"""A ZIP of PNG or JPEG images in one folder per class: `flowers/train/roses/1.png` is an
image of the class "roses".

Layout: every image sits directly in its class folder, and the class folders sit side by
side in one folder (the archive's top level, or any single path such as `flowers/train/`).
`__MACOSX/`, `.DS_Store`, `Thumbs.db`, `desktop.ini` and `._*` files are skipped; any other
file is refused, as are images outside a class folder or below one, and a single class.

Size: images are resized (stretched, not cropped) to the most common size among them,
scaled down to at most DOWNHILL_IMAGE_MAX_SIDE pixels on its longer side with its aspect
ratio kept. Colour: if any image is in colour (RGB, palette, CMYK, ...), every image becomes
RGB; if all are grayscale they keep one channel. Transparent pixels are laid on black; 16-bit
grayscale is scaled to 8 bits; JPEG EXIF orientation is applied.

The decoded images are stored as one NPZ next to the upload, so a worker loads a single
uint8 array: X (n, height, width, channels), y (the class of each image), paths (the
members, joined by NUL characters, which no member name may hold).

Predictions for an image run decode the images they are sent with the same `open_image` and
`image_pixels`, so a sent image becomes the pixels it would have become in the ZIP.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
import zlib
from collections import Counter

import numpy as np
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from .archive import SafeArchive, shown
from .columns import categorical_column, image_column
from .intake import Intake
from .schema import DatasetFileError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
PILLOW_FORMATS = ("PNG", "JPEG")  # what the bytes must be, whatever the extension says
IGNORED_FOLDERS = {"__MACOSX"}
IGNORED_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
GRAYSCALE_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
# The largest image decoded: 50 megapixels is about 150 MB as RGB, and above any camera's.
MAX_SOURCE_PIXELS = 50_000_000
MAX_CLASS_NAME_LENGTH = 200
EXIF_ORIENTATION = 0x0112
ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # a quarter turn: width and height swap
PATH_SEPARATOR = "\x00"


def _parts(name: str) -> list[str]:
    return [p for p in re.split(r"[\\/]", name) if p]


def _ignorable(parts: list[str]) -> bool:
    name = parts[-1]
    return (
        any(p in IGNORED_FOLDERS for p in parts[:-1])
        or name in IGNORED_FILES
        or name.startswith("._")
    )


def _classes(images: list[tuple[zipfile.ZipInfo, list[str]]]) -> tuple[list[str], str]:
    """The class of each image (its folder's name) and the folder holding the class folders."""
    folders = [parts[:-1] for _, parts in images]
    common = os.path.commonprefix(folders)
    root = "/".join(common) + "/" if common else "the archive's top level"
    if common and all(len(f) == len(common) for f in folders):  # every image in one folder
        raise DatasetFileError(
            f"The archive holds a single class ({shown(common[-1])}): classification needs "
            "at least two class folders, each holding the images of its class."
        )
    classes = []
    for (info, _), folder in zip(images, folders, strict=True):
        if not folder:
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} is outside any class folder: put each "
                "image in a folder named after its class (e.g. roses/1.png, tulips/2.png)."
            )
        if len(folder) == len(common):
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} is outside any class folder: images "
                f"belong in the class folders inside {root}."
            )
        if len(folder) > len(common) + 1:
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} is in a folder below its class "
                f"folder {shown(folder[len(common)])}: every image sits directly in its class "
                f"folder, and the class folders side by side in {root}."
            )
        name = folder[-1]
        if len(name) > MAX_CLASS_NAME_LENGTH:
            raise DatasetFileError(
                f"The class folder {shown(name)} has a name longer than "
                f"{MAX_CLASS_NAME_LENGTH} characters."
            )
        classes.append(name)
    return classes, root


class ImageError(ValueError):
    """Bytes that are no PNG or JPEG image this server decodes. The message is a predicate
    ("cannot be decoded as ...") for the caller to put after the image's name."""


def open_image(data: bytes) -> Image.Image:
    """The header of a PNG or JPEG file, nothing decoded yet: an image over MAX_SOURCE_PIXELS
    (a decompression bomb among them) is refused before its pixels are expanded."""
    try:
        image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError(
            "cannot be decoded as an image: its bytes are neither PNG nor JPEG"
        ) from exc
    except Exception as exc:  # Pillow raises many kinds for hostile bytes
        raise _undecodable(exc) from exc
    if image.width * image.height > MAX_SOURCE_PIXELS:
        raise ImageError(
            f"is {image.width}×{image.height} pixels; the largest accepted has "
            f"{MAX_SOURCE_PIXELS:,} pixels"
        )
    return image


def image_pixels(image: Image.Image, channels: int, size: tuple[int, int]) -> np.ndarray:
    """(height, width, channels) uint8 pixels of an `open_image` at `size` (width, height),
    converted and resized as every image of an uploaded ZIP is."""
    try:
        pixels = _pixels(image, channels, size)
    except Exception as exc:  # a truncated or corrupt file fails only once decoded
        raise _undecodable(exc) from exc
    return pixels.reshape(size[1], size[0], channels)


def _undecodable(exc: Exception) -> ImageError:
    return ImageError(f"cannot be decoded as a PNG or JPEG image ({exc.__class__.__name__}: {exc})")


def _open(archive: SafeArchive, info: zipfile.ZipInfo) -> Image.Image:
    try:
        return open_image(archive.read(info))
    except ImageError as exc:
        raise _member_error(info, exc) from exc


# PNG and JPEG files keep their size, colour and orientation in their first bytes (a JPEG's
# EXIF block, which comes before its size, is at most 64 KiB).
HEADER_BYTES = 96 * 1024


def _header(archive: SafeArchive, info: zipfile.ZipInfo) -> Image.Image:
    """The image's header, inflating only the member's first HEADER_BYTES; the whole member
    when the header runs on past them (or is not a header: then `_open` says what is wrong).
    What is not inflated here is when the pixels are decoded, every byte counted as ever."""
    if info.file_size > HEADER_BYTES:
        with archive.open(info) as member:
            try:
                head = member.read(HEADER_BYTES)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise archive.corrupt(info, exc) from exc
        with contextlib.suppress(ImageError):
            return open_image(head)
    return _open(archive, info)


def _member_error(info: zipfile.ZipInfo, exc: ImageError) -> DatasetFileError:
    return DatasetFileError(f"The archive member {shown(info.filename)} {exc}.")


def _rotated(image: Image.Image) -> bool:
    """Whether the JPEG's EXIF orientation turns it a quarter (width and height swap)."""
    return image.format == "JPEG" and image.getexif().get(EXIF_ORIENTATION) in ROTATED_ORIENTATIONS


def _upright_size(image: Image.Image) -> tuple[int, int]:
    return (image.height, image.width) if _rotated(image) else image.size


def _target_size(sizes: Counter, max_side: int) -> tuple[int, int]:
    """The most common (width, height) (ties: the larger), its longer side cut to `max_side`."""
    (width, height), _ = max(sizes.items(), key=lambda item: (item[1], item[0][0] * item[0][1]))
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _pixels(image: Image.Image, channels: int, size: tuple[int, int]) -> np.ndarray:
    """(height, width) or (height, width, 3) uint8 pixels of `image` at `size`."""
    if image.format == "JPEG":
        # Decode at 1/2, 1/4 or 1/8 scale when that is still at least `size` (as stored).
        image.draft(None, size[::-1] if _rotated(image) else size)
        image = ImageOps.exif_transpose(image)
    if image.mode in SIXTEEN_BIT_MODES:
        wide = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        image = Image.fromarray(np.round(wide / 257).astype(np.uint8))
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, (0, 0, 0, 255)), image)
    image = image.convert("RGB" if channels == 3 else "L")
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8)


class TooManyPixels(Exception):
    """The images hold more pixels than `max_pixels` allows (the request's bound): read them on
    a worker instead."""


def read_image_folders(archive: SafeArchive, *, max_pixels: int | None = None) -> Intake:
    """Check and decode a ZIP of images in class folders. With `max_pixels`, raise
    TooManyPixels, before decoding any, when their headers add up to more pixels than that."""
    images, ignored = [], 0
    for info in archive.members:
        parts = _parts(info.filename)
        if _ignorable(parts):
            ignored += 1
        elif not parts[-1].lower().endswith(IMAGE_EXTENSIONS):
            raise DatasetFileError(
                f"The archive member {shown(info.filename)} is not a PNG or JPEG image; the "
                "archive must hold .png, .jpg or .jpeg files in one folder per class."
            )
        else:
            images.append((info, parts))
    if not images:
        raise DatasetFileError(
            "The archive holds no PNG or JPEG images; put them in one folder per class."
        )
    images.sort(key=lambda item: item[0].filename)
    classes, root = _classes(images)

    # First pass: sizes and colour from the headers, so the common size is known before
    # any image is decoded; the second decodes each one straight into the shared array.
    sizes, colour = Counter(), False
    for info, _ in images:
        image = _header(archive, info)
        sizes[_upright_size(image)] += 1
        colour = colour or image.mode not in GRAYSCALE_MODES
    source_pixels = sum(w * h * n for (w, h), n in sizes.items())
    if max_pixels is not None and source_pixels > max_pixels:
        raise TooManyPixels(f"{source_pixels:,} pixels")
    width, height = _target_size(sizes, settings.DOWNHILL_IMAGE_MAX_SIDE)
    channels = 3 if colour else 1
    x = np.empty((len(images), height, width, channels), dtype=np.uint8)
    for i, (info, _) in enumerate(images):
        try:
            x[i] = image_pixels(_open(archive, info), channels, (width, height))
        except ImageError as exc:
            raise _member_error(info, exc) from exc

    counts = Counter(classes)
    shape = (channels, height, width)
    details = {
        "image_shape": list(shape),
        "classes": dict(sorted(counts.items())),
        "root": root,
        "color": "rgb" if colour else "grayscale",
        "source_sizes": [[f"{w}×{h}", n] for (w, h), n in sizes.most_common(10)],
        "resized": len(images) - sizes[(width, height)],
        "ignored_members": ignored,
        "pixel_scale": 255.0,
    }
    paths = PATH_SEPARATOR.join(info.filename for info, _ in images)
    return Intake(
        format="images",
        n_rows=len(images),
        columns=[image_column("image", shape, 255.0), categorical_column("label", counts)],
        target="label",
        details=details,
        arrays={"X": x, "y": np.array(classes, dtype=str), "paths": np.array(paths)},
    )
