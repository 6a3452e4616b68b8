"""A synthetic labeled CSV of a given size: numeric and categorical features and a text target.

    .venv/bin/python bench/ingest/generate.py OUT.csv --mb 100

Columns, about 110 bytes a row: eight normal floats (4 decimals), two integer columns (one
with about 1 % missing values), two categorical columns (40 cities, 5 channels) and the
target `label` (3 classes, depending on the features). Written in blocks of rows with NumPy
doing the formatting, so a gigabyte takes seconds, not minutes; the same seed gives the
same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

FLOATS = 8
CITIES = np.array([f"city_{i:02d}" for i in range(40)])
CHANNELS = np.array(["web", "store", "phone", "partner", "email"])
LABELS = np.array(["low", "mid", "high"])
HEADER = [*(f"x{i}" for i in range(FLOATS)), "items", "age", "city", "channel", "label"]
BLOCK_ROWS = 100_000


def _block(rng: np.random.Generator, n: int) -> bytes:
    x = rng.normal(size=(n, FLOATS))
    items = rng.integers(0, 1000, size=n)
    age = rng.integers(18, 91, size=n).astype(str)
    age[rng.random(n) < 0.01] = ""
    city = rng.integers(0, len(CITIES), size=n)
    score = x[:, 0] + 0.5 * x[:, 1] - 0.002 * items + 0.05 * (city % 7)
    label = LABELS[np.digitize(score, [-1.5, -0.5])]
    columns = [np.round(x[:, i], 4).astype(str) for i in range(FLOATS)]
    columns += [items.astype(str), age, CITIES[city], CHANNELS[rng.integers(0, 5, size=n)], label]
    rows = map(",".join, zip(*(c.tolist() for c in columns), strict=True))
    return ("\n".join(rows) + "\n").encode()


def generate(path: Path, megabytes: float, seed: int = 0) -> int:
    """Write `megabytes` MB (10^6 bytes; the last row may end past it); returns the rows."""
    rng = np.random.default_rng(seed)
    target, rows = int(megabytes * 1e6), 0
    with open(path, "wb") as out:
        out.write((",".join(HEADER) + "\n").encode())
        while out.tell() < target:
            block = _block(rng, BLOCK_ROWS)
            if out.tell() + len(block) > target:  # the last block: only the rows still needed
                lines = block.splitlines(keepends=True)
                need, taken = target - out.tell(), 0
                for line in lines:
                    out.write(line)
                    taken += len(line)
                    rows += 1
                    if taken >= need:
                        break
                break
            out.write(block)
            rows += BLOCK_ROWS
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=100, help="size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = generate(args.out, args.mb, args.seed)
    print(f"{args.out}: {rows:,} rows, {args.out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
