"""The landscape against a bare `torch.no_grad()` loop: forward passes per second, same cells.

    .venv/bin/python bench/lab/run.py [--grid 21] [--rounds 5] [--threads N]

The platform's default model (MLP, hidden [64, 64], relu) on 2,000 rows of 32 features, a
21x21 grid of filter-normalized directions evaluated by workers.engine.lab.landscape.surface
in one batch of 2,000 rows per cell, against a hand-written loop that sets the same weights
and runs the same forward passes under torch.no_grad(). Rounds alternate the two sides (and
which goes first); the gate is the median of the per-round ratios landscape / bare (at least
0.9). Prints the time to the whole landscape too. Exit status 1 below the gate. `--threads 1`
keeps a loaded machine's scheduler from deciding the ratio (torch's threads fight the other
processes' for the cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from workers.contract.landscape import coarse_first_blocks  # noqa: E402
from workers.engine.lab.landscape import filter_normalized_direction, surface  # noqa: E402
from workers.engine.losses import build_objective  # noqa: E402
from workers.engine.models import build_model  # noqa: E402

GATE = 0.9
ROWS, FEATURES, CLASSES = 2_000, 32, 4


def setup(grid: int):
    torch.manual_seed(0)
    model = build_model(
        {"type": "mlp", "hidden": [64, 64], "activation": "relu"}, FEATURES, CLASSES
    )
    objective = build_objective("cross_entropy", "classification", CLASSES)
    x = torch.randn(ROWS, FEATURES)
    y = objective.encode_targets(torch.randint(0, CLASSES, (ROWS,)))
    generator = torch.Generator().manual_seed(1)
    origin = [p.detach().clone() for p in model.parameters()]
    d1 = filter_normalized_direction(model, generator)
    d2 = filter_normalized_direction(model, generator)
    axis = np.linspace(-1, 1, grid)
    return model, objective, x, y, origin, d1, d2, axis


@torch.no_grad()
def bare(model, objective, x, y, origin, d1, d2, axis) -> int:
    passes = 0
    model.eval()
    for b in axis:
        for a in axis:
            for p, o, u, v in zip(model.parameters(), origin, d1, d2, strict=True):
                p.copy_(o + a * u + b * v)
            float(objective.loss_sum(model(x).float(), y))
            passes += 1
    return passes


def ours(model, objective, x, y, origin, d1, d2, axis) -> int:
    blocks = coarse_first_blocks(len(axis), len(axis))  # the worker's order: coarse grid first
    return surface(
        model, objective, (x, y), origin, d1, d2, axis, axis, batch_rows=ROWS, blocks=blocks
    ).forward_passes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    setup_args = setup(args.grid)
    ratios, times = [], []
    for round_ in range(args.rounds + 1):  # the first round warms up
        rates = {}
        sides = (("bare", bare), ("landscape", ours))
        for name, side in sides if round_ % 2 else sides[::-1]:  # who goes first alternates
            start = time.perf_counter()
            passes = side(*setup_args)
            elapsed = time.perf_counter() - start
            rates[name] = passes / elapsed
            if name == "landscape":
                times.append(elapsed)
        if round_:
            ratios.append(rates["landscape"] / rates["bare"])
        print(f"round {round_}: bare {rates['bare']:.0f}/s, landscape {rates['landscape']:.0f}/s")
    median = statistics.median(ratios)
    print(
        "\n| grid | rows | landscape time (median) | passes/s ratio landscape/bare (median) | min-max |"
    )
    print("|---|---|---|---|---|")
    print(f"| {args.grid}x{args.grid} | {ROWS} | {statistics.median(times[1:]):.2f} s | "
          f"{median:.3f} | {min(ratios):.3f}-{max(ratios):.3f} |")  # fmt: skip
    return 0 if median >= GATE else 1


if __name__ == "__main__":
    sys.exit(main())
