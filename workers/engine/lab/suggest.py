"""Learning rates read off a range test's curve (Smith 2017; fastai's `lr_find` suggestions).

Three rules, each a known heuristic with a known weakness (an early spike moves the steepest
point; the seed moves all three), so the page shows them together and warns when they disagree
by more than `DISAGREEMENT` (10x):
- steepest: where the smoothed loss falls fastest against log(lr), before its minimum and
  past the first tenth of the steps;
- minimum / 10: a tenth of the lr at the smoothed loss's minimum;
- valley: fastai's rule, two thirds down the longest run of falling loss.
"""

from __future__ import annotations

import numpy as np

DISAGREEMENT = 10.0


def suggest(lrs: list[float], smoothed: list[float]) -> dict:
    """{"steepest", "min_div_10", "valley"} (each an lr, or None on too short a curve) and
    "warning" (a sentence, or None)."""
    lr, loss = np.asarray(lrs, dtype=float), np.asarray(smoothed, dtype=float)
    if len(lr) < 3:
        return {"steepest": None, "min_div_10": None, "valley": None,
                "warning": "Too few steps to suggest a learning rate."}  # fmt: skip
    best = int(np.argmin(loss))
    found = {
        "steepest": _steepest(lr[: best + 1], loss[: best + 1]),
        "min_div_10": float(lr[best] / 10),
        "valley": float(lr[_valley(loss)]),
    }
    return {**found, "warning": _disagreement(found)}


def _steepest(lr: np.ndarray, loss: np.ndarray) -> float | None:
    """The first tenth of the points (at most 10, as Lightning's `skip_begin`) is left out: the
    smoothed loss's debiasing makes its first steps the noisiest."""
    skip = min(10, len(lr) // 10) if len(lr) >= 12 else 0  # a minimum that early: all of it
    lr, loss = lr[skip:], loss[skip:]
    if len(lr) < 2:
        return float(lr[0])  # the minimum is the first point: nothing falls before it
    slope = np.gradient(loss, np.log(lr))
    return float(lr[int(np.argmin(slope))])


def _valley(loss: np.ndarray) -> int:
    """fastai's valley: the longest strictly falling subsequence of the loss (O(n^2) dynamic
    programming), and the point two thirds of the way down it."""
    n = len(loss)
    length, previous = [1] * n, list(range(n))
    for i in range(1, n):
        for j in range(i):
            if loss[i] < loss[j] and length[i] < length[j] + 1:
                length[i], previous[i] = length[j] + 1, j
    end = int(np.argmax(length))
    start = end
    while previous[start] != start:
        start = previous[start]
    third = (end - start) / 3
    return start + int(third) + int(third / 2)


def _disagreement(found: dict) -> str | None:
    values = [v for v in found.values() if v]
    if len(values) < 2 or max(values) / min(values) <= DISAGREEMENT:
        return None
    return (
        f"The rules disagree by {max(values) / min(values):.0f}x (more than {DISAGREEMENT:.0f}x): "
        "an early spike or this seed may mislead one of them. Look at the curve, or run the "
        "test again with another seed."
    )
