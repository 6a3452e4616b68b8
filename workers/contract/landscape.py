"""What the web and the worker agree on for a run's loss landscape: its settings, their
defaults and bounds, and its cost (forward passes = cells x evaluation batches), shown before
it starts. Li et al. 2018 draw 2-D surfaces on 51x51 grids over [-1, 1] of filter-normalized
directions; 21x21 on at most 2,000 rows answers in seconds on a CPU (bench/lab)."""

from __future__ import annotations

import math

LANDSCAPE_TASK = "downhill.lab_landscape"
KINDS = ("surface", "line")
DIRECTIONS = ("pca", "random")
MIN_GRID, MAX_GRID = 3, 51
MAX_ROWS = 10_000
BATCH_ROWS = 2_000  # rows per forward pass: the default subset is one batch per set of rows
DEFAULTS = {"kind": "surface", "grid": 21, "rows": 2_000, "range": None, "directions": None,
            "seed": 0}  # fmt: skip
# The range of a line is in units of the way from the initial weights (0) to the final (1);
# a random surface's in units of its filter-normalized directions; a PCA surface's, in weight
# space distance, covers the trajectory when it is not given (None).
DEFAULT_RANGES = {"line": [-0.5, 1.5], "random": [-1.0, 1.0]}
MAX_RANGE = 1e3


def landscape_params(data: dict) -> tuple[dict, dict[str, list[str]]]:
    """The settings with defaults filled in (directions stays None: it depends on the run),
    and the errors per field (empty when valid)."""
    unknown = set(data) - set(DEFAULTS) - {"run"}
    errors = {key: ["unknown setting."] for key in sorted(unknown)}
    params = {key: data.get(key, default) for key, default in DEFAULTS.items()}
    if params["kind"] not in KINDS:
        errors["kind"] = [f"choose one of: {', '.join(KINDS)}."]
    for key, low, high in (("grid", MIN_GRID, MAX_GRID), ("rows", 1, MAX_ROWS)):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = [f"a whole number from {low} to {high:,}."]
    if params["directions"] is not None and params["directions"] not in DIRECTIONS:
        errors["directions"] = [f"choose one of: {', '.join(DIRECTIONS)}."]
    if params["kind"] == "line" and params["directions"] is not None:
        errors["directions"] = ["a line runs from the initial weights to the final: no directions."]
    seed = params["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        errors["seed"] = ["a whole number from 0 to 2147483647."]
    range_error = _range_error(params["range"])
    if range_error:
        errors["range"] = [range_error]
    return params, errors


def _range_error(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        return "two numbers, [low, high]."
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in value):
        return "two numbers, [low, high]."
    low, high = value
    if not all(math.isfinite(v) and abs(v) <= MAX_RANGE for v in value):
        return f"numbers from -{MAX_RANGE:g} to {MAX_RANGE:g}."
    if high <= low:
        return "the range is empty: its high end must be above its low end."
    return None


def landscape_cost(kind: str, grid: int, rows: int, set_rows: tuple[int, int]) -> dict:
    """Cells, evaluation batches per cell and forward passes, for `set_rows` (train and
    validation rows of the run) evaluated on at most `rows` each."""
    cells = grid if kind == "line" else grid * grid
    used = [min(rows, n) for n in set_rows]
    batches = sum(math.ceil(n / BATCH_ROWS) for n in used if n)
    return {"cells": cells, "batches": batches, "forward_passes": cells * batches,
            "rows": {"train": used[0], "validation": used[1]}}  # fmt: skip
