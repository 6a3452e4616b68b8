"""The reader alone, on a file: Downhill's read_csv_schema against pandas.read_csv, CPU and
wall seconds, alternating, in one warm process (no upload, no worker, no database).

    .venv/bin/python bench/ingest/reader.py FILE.csv [--rounds 3]

CPU seconds (user + system of the process, every thread) are the steadier figure on a busy
machine; the first read of each side is a warm-up, not counted.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import django
    import pandas

    django.setup()
    from downhill.datasets.schema import read_csv_schema

    def downhill(path: Path) -> None:
        with open(path, "rb") as f:
            read_csv_schema(f)

    sides = {"downhill": downhill, "pandas": pandas.read_csv}
    for read in sides.values():
        read(args.path)
    mb = args.path.stat().st_size / 1e6
    print(f"{args.path.name}: {mb:,.1f} MB, load average {os.getloadavg()[0]:.1f}")
    for i in range(args.rounds):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        figures = {side: timed(sides[side], args.path) for side in order}
        line = ", ".join(f"{s} {w:.2f} s wall / {c:.2f} CPU s" for s, (w, c) in figures.items())
        ratio = figures["pandas"][1] / figures["downhill"][1]
        print(f"round {i + 1}: {line}; CPU ratio pandas/downhill {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
