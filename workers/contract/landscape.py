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
# parts: a surface's cells split across that many tasks on the training queue (one worker
# each when enough are free); up to one part per grid row.
DEFAULTS = {"kind": "surface", "grid": 21, "rows": 2_000, "range": None, "directions": None,
            "seed": 0, "parts": 1}  # fmt: skip
# The range of a line is in units of the way from the initial weights (0) to the final (1);
# a random surface's in units of its filter-normalized directions; a PCA surface's, in weight
# space distance, covers the trajectory when it is not given (None).
DEFAULT_RANGES = {"line": [-0.5, 1.5], "random": [-1.0, 1.0]}
MAX_RANGE = 1e3

Block = list[tuple[int, int]]  # (row, column) cells of a grid evaluated before one host sync


def coarse_first_blocks(n_rows: int, n_cols: int) -> list[Block]:
    """Every cell once: first the coarse sub-grid (every other row and column: 11 x 11 of
    21 x 21, about a quarter of the passes), row after row, then the cells between, row after
    row. A page draws the coarse surface while the rest is computed."""
    coarse = [[(i, j) for j in range(0, n_cols, 2)] for i in range(0, n_rows, 2)]
    fine = [[(i, j) for j in range(n_cols) if i % 2 or j % 2] for i in range(n_rows)]
    return coarse + [block for block in fine if block]


def part_blocks(grid: int, part: int, parts: int) -> list[Block]:
    """The blocks part `part` of `parts` computes: every parts-th block of the coarse-first
    order, so each part does its share of the coarse grid first and no cell is done twice."""
    return coarse_first_blocks(grid, grid)[part::parts]


def part_cells(grid: int, part: int, parts: int) -> list[tuple[int, int]]:
    """The cells of part `part` of `parts`, in the order it computes them."""
    return [cell for block in part_blocks(grid, part, parts) for cell in block]


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
    parts_error = _parts_error(params)
    if parts_error:
        errors["parts"] = [parts_error]
    range_error = _range_error(params["range"])
    if range_error:
        errors["range"] = [range_error]
    return params, errors


def _parts_error(params: dict) -> str | None:
    parts, grid = params["parts"], params["grid"]
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        return "a whole number from 1 to the number of grid rows."
    if params["kind"] == "line" and parts != 1:
        return "a line is computed in one part."
    if isinstance(grid, int) and parts > grid:
        return f"at most one part per grid row: from 1 to {grid}."
    return None


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
