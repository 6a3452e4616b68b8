"""The reader alone, on a file: Downhill's read_csv_schema against pandas.read_csv, CPU and
wall seconds, alternating, in one warm process (no upload, no worker, no database).

    .venv/bin/python bench/ingest/reader.py FILE.csv [--rounds 3] [--parse-only]

CPU seconds (user + system of the process, every thread) are the steadier figure on a busy
machine; the first read of each side is a warm-up, not counted. --parse-only adds a third
side, the floor under the reader: its blocks read, hashed and parsed by pyarrow as it parses
them (bench/ingest's float columns as float64, as the reader does once they are past the
distinct cap; the rest dictionary-encoded text; the block checks), and nothing summed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downhill.settings")


def timed(read, path: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    read(path)
    return time.perf_counter() - wall, time.process_time() - cpu


def parse_only(path: Path) -> None:
    """The block reader's reading, hashing and parsing of the file, nothing summed."""
    import pyarrow as pa
    from generate import FLOATS  # bench/ingest/generate.py: its first FLOATS columns

    from downhill.datasets import csv_blocks

    with open(path, "rb") as f:
        source, delimiter, names, _ = csv_blocks._start(f, skip_tallies=True)
        types = dict.fromkeys(range(FLOATS), pa.float64())
        while block := source.block(csv_blocks.BLOCK_BYTES):
            assert csv_blocks._arrow_table(block, delimiter, len(names), types) is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parse-only", action="store_true", help="add pyarrow's parse alone")
    args = parser.parse_args()
    import django
    import pandas

    django.setup()
    from downhill.datasets.schema import read_csv_schema

    def downhill(path: Path) -> None:
        with open(path, "rb") as f:
            read_csv_schema(f)

    sides = {"downhill": downhill, "pandas": pandas.read_csv}
    if args.parse_only:
        sides["parse_only"] = parse_only
    for read in sides.values():
        read(args.path)
    mb = args.path.stat().st_size / 1e6
    print(f"{args.path.name}: {mb:,.1f} MB, load average {os.getloadavg()[0]:.1f}")
    for i in range(args.rounds):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        figures = {side: timed(sides[side], args.path) for side in order}
        line = ", ".join(f"{s} {w:.2f} s wall / {c:.2f} CPU s" for s, (w, c) in figures.items())
        ratio = figures["pandas"][1] / figures["downhill"][1]
        floor = ""
        if "parse_only" in figures:
            floor = f"; parse alone {figures['parse_only'][1] / figures['pandas'][1]:.2f} of pandas' CPU"
        print(f"round {i + 1}: {line}; CPU ratio pandas/downhill {ratio:.2f}{floor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
