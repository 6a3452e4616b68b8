"""Hostile or broken ZIP (and NPZ) uploads: each is refused with a 400 that names the member
at fault, and leaves nothing behind: no Dataset row, no stored file."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import numpy as np
import pytest

from downhill.datasets.archive import _CountingReader
from downhill.datasets.schema import DatasetFileError
from tests.datasets.builders import (
    assert_refused,
    image_bytes,
    npz_bytes,
    post_bytes,
    solid,
    zip_bytes,
)

pytestmark = pytest.mark.django_db

GOOD = {"pets/cats/1.png": solid(0), "pets/dogs/1.png": solid(255)}


def refused(api, media_root, content: bytes, *fragments: str, filename: str = "upload.zip"):
    assert_refused(
        post_bytes(api, content, filename=filename), "file", *fragments, media_root=media_root
    )


# --- what the directory says --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("pets/../../etc/evil.png", "outside the archive"),
        ("../cats/1.png", "outside the archive"),
        ("pets\\..\\..\\evil.png", "outside the archive"),
        ("/etc/cron.d/evil.png", "absolute path"),
        ("\\windows\\evil.png", "absolute path"),
        ("C:/Windows/evil.png", "drive"),
        ("c:evil.png", "drive"),
    ],
)
def test_a_member_path_leading_out_of_the_archive_is_refused(api, media_root, name, problem):
    refused(api, media_root, zip_bytes({**GOOD, name: solid(9)}), repr(name), problem)


def test_a_symbolic_link_is_refused(api, media_root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in GOOD.items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("pets/cats/2.png")
        link.create_system = 3  # unix
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    refused(api, media_root, buffer.getvalue(), "'pets/cats/2.png'", "symbolic link")


def test_an_encrypted_member_is_refused(api, media_root):
    content = bytearray(zip_bytes({**GOOD, "pets/dogs/2.png": solid(1)}))
    content[_central_record(content, "pets/dogs/2.png") + 8] |= 0x1  # "encrypted"
    refused(api, media_root, bytes(content), "'pets/dogs/2.png'", "encrypted")


def test_more_entries_than_the_limit_are_refused(api, media_root, settings):
    settings.DOWNHILL_ZIP_MAX_ENTRIES = 3
    members = {f"pets/cats/{i}.png": solid(0) for i in range(3)} | {"pets/dogs/0.png": solid(255)}
    refused(
        api, media_root, zip_bytes(members), "4 entries", "limit is 3", "DOWNHILL_ZIP_MAX_ENTRIES"
    )


def test_an_end_record_understating_the_entries_does_not_get_past_the_limit(
    api, media_root, settings
):
    settings.DOWNHILL_ZIP_MAX_ENTRIES = 3
    members = {f"pets/cats/{i}.png": solid(0) for i in range(3)} | {"pets/dogs/0.png": solid(255)}
    content = bytearray(zip_bytes(members))
    end = content.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", content, end + 8, 1, 1)  # "one entry", while the directory has four
    refused(api, media_root, bytes(content), "'pets/dogs/0.png'", "more than the limit of 3")


def test_more_uncompressed_bytes_than_the_limit_are_refused(api, media_root, settings):
    settings.DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB = 1
    noise = np.random.default_rng(0).integers(0, 256, (500, 500, 3))  # ~750 KB as PNG
    members = {**GOOD, "pets/cats/2.png": image_bytes(noise), "pets/dogs/2.png": image_bytes(noise)}
    refused(
        api, media_root, zip_bytes(members), "'pets/dogs/2.png'", "1.0 MB",
        "DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB",
    )  # fmt: skip


def test_a_member_expanding_more_than_the_ratio_limit_is_refused_as_a_zip_bomb(api, media_root):
    bomb = b"\x00" * (5 * 2**20)  # 5 MB of zeros deflate to about 5 KB
    refused(
        api, media_root, zip_bytes({**GOOD, "pets/cats/2.png": bomb}), "'pets/cats/2.png'",
        "zip bomb", "DOWNHILL_ZIP_MAX_RATIO",
    )  # fmt: skip


def test_a_compression_method_that_cannot_be_bounded_is_refused(api, media_root):
    content = zip_bytes(GOOD, compression=zipfile.ZIP_BZIP2)
    refused(api, media_root, content, "'pets/cats/1.png'", "compression method")


def test_the_counting_reader_stops_at_the_declared_size():
    reader = _CountingReader(io.BytesIO(b"x" * 100), cap=10, name="a.png")
    with pytest.raises(DatasetFileError, match="'a.png' holds more data than"):
        reader.read()


# --- what the bytes hold ------------------------------------------------------------------


def test_a_file_that_is_no_archive_at_all_is_refused(api, media_root):
    refused(api, media_root, b"PK\x03\x04 but nothing after", "not a valid zip archive")


def test_a_truncated_archive_is_refused(api, media_root):
    content = zip_bytes(GOOD)
    refused(api, media_root, content[: len(content) // 2], "not a valid zip archive")


def test_a_zip_extension_on_other_bytes_is_refused_as_no_zip(api, media_root):
    refused(api, media_root, b"a,b\n1,2\n", "not a valid zip archive", filename="data.zip")


def test_a_member_whose_compressed_bytes_are_damaged_is_refused(api, media_root):
    noise = image_bytes(np.random.default_rng(1).integers(0, 256, (32, 32, 3)))
    content = bytearray(
        zip_bytes({**GOOD, "pets/cats/2.png": noise}, compression=zipfile.ZIP_STORED)
    )
    start = content.index(noise)
    content[start + 100 : start + 110] = b"\xff" * 10  # the directory's CRC no longer fits
    refused(api, media_root, bytes(content), "'pets/cats/2.png'", "corrupt")


def test_a_member_holding_more_than_its_directory_entry_declares_is_refused(api, media_root):
    content = bytearray(zip_bytes({**GOOD, "pets/cats/2.png": solid(7, (64, 64))}))
    local = zipfile.ZipFile(io.BytesIO(bytes(content))).getinfo("pets/cats/2.png").header_offset
    struct.pack_into("<I", content, local + 22, 10)  # uncompressed size: "10 bytes"
    struct.pack_into("<I", content, _central_record(content, "pets/cats/2.png") + 24, 10)
    refused(api, media_root, bytes(content), "'pets/cats/2.png'", "corrupt")


def _central_record(content: bytearray, name: str) -> int:
    """The offset of `name`'s record in the archive's central directory."""
    record = content.index(b"PK\x01\x02")
    while content[record + 46 : record + 46 + len(name)] != name.encode():
        record = content.index(b"PK\x01\x02", record + 4)
    return record


def test_a_member_that_is_not_an_image_is_refused(api, media_root):
    refused(
        api, media_root, zip_bytes({**GOOD, "pets/cats/notes.txt": b"meow"}),
        "'pets/cats/notes.txt'", "not a png or jpeg",
    )  # fmt: skip


def test_an_image_whose_bytes_do_not_decode_is_refused(api, media_root):
    refused(
        api, media_root, zip_bytes({**GOOD, "pets/cats/2.png": b"\x89PNG\r\n\x1a\n garbage"}),
        "'pets/cats/2.png'", "cannot be decoded",
    )  # fmt: skip


def test_a_truncated_image_is_refused(api, media_root):
    whole = image_bytes(np.random.default_rng(2).integers(0, 256, (32, 32, 3)))
    refused(
        api, media_root, zip_bytes({**GOOD, "pets/dogs/2.png": whole[: len(whole) // 2]}),
        "'pets/dogs/2.png'", "cannot be decoded",
    )  # fmt: skip


def test_an_image_with_too_many_pixels_is_refused(api, media_root, monkeypatch):
    monkeypatch.setattr("downhill.datasets.images.MAX_SOURCE_PIXELS", 100)
    members = {**GOOD, "pets/dogs/2.png": solid(3, (20, 20))}
    refused(api, media_root, zip_bytes(members), "'pets/dogs/2.png'", "20×20 pixels")


def test_a_gif_named_png_is_refused(api, media_root):
    gif = image_bytes(np.zeros((4, 4), dtype=np.uint8), fmt="GIF")
    refused(
        api,
        media_root,
        zip_bytes({**GOOD, "pets/cats/2.png": gif}),
        "'pets/cats/2.png'",
        "cannot be decoded",
    )


# --- the layout ---------------------------------------------------------------------------


def test_a_single_class_is_refused(api, media_root):
    members = {"pets/cats/1.png": solid(0), "pets/cats/2.png": solid(9)}
    refused(api, media_root, zip_bytes(members), "single class", "'cats'")


def test_an_image_outside_the_class_folders_is_refused(api, media_root):
    refused(
        api, media_root, zip_bytes({**GOOD, "pets/stray.png": solid(5)}), "'pets/stray.png'",
        "outside any class folder",
    )  # fmt: skip


def test_an_image_at_the_top_of_the_archive_is_refused(api, media_root):
    members = {"cats/1.png": solid(0), "dogs/1.png": solid(255), "stray.png": solid(5)}
    refused(api, media_root, zip_bytes(members), "'stray.png'", "outside any class folder")


def test_an_image_below_its_class_folder_is_refused(api, media_root):
    refused(
        api, media_root, zip_bytes({**GOOD, "pets/cats/kittens/1.png": solid(5)}),
        "'pets/cats/kittens/1.png'", "below its class folder 'cats'",
    )  # fmt: skip


def test_class_folders_under_two_parents_are_refused(api, media_root):
    members = {"pets/train/cats/1.png": solid(0), "pets/test/dogs/1.png": solid(255)}
    refused(api, media_root, zip_bytes(members), "'pets/test/dogs/1.png'", "below its class folder")


def test_an_archive_of_only_clutter_holds_no_images(api, media_root):
    refused(
        api, media_root, zip_bytes({"__MACOSX/._a.png": b"x", ".DS_Store": b"x"}), "no png or jpeg"
    )


def test_a_class_folder_name_longer_than_200_characters_is_refused(api, media_root):
    name = "c" * 201
    members = {**GOOD, f"pets/{name}/1.png": solid(1)}
    refused(api, media_root, zip_bytes(members), "longer than 200")


# --- NPZ files are archives too -----------------------------------------------------------


def test_an_npz_zip_bomb_is_refused_naming_the_array(api, media_root):
    content = npz_bytes(compressed=True, X=np.zeros((100_000, 8)), y=np.arange(100_000) % 2)
    refused(api, media_root, content, "'X.npy'", "zip bomb", filename="data.npz")


def test_an_npz_with_a_path_traversal_member_is_refused(api, media_root):
    content = zip_bytes({"X.npy": b"", "../y.npy": b""})
    refused(api, media_root, content, "'../y.npy'", "outside the archive", filename="data.npz")


def test_the_archive_limits_default_to_the_documented_values(settings):
    assert settings.DOWNHILL_ZIP_MAX_ENTRIES == 100_000
    assert settings.DOWNHILL_ZIP_MAX_UNCOMPRESSED_MB == 4096
    assert settings.DOWNHILL_ZIP_MAX_RATIO == 100
    assert settings.DOWNHILL_IMAGE_MAX_SIDE == 64
