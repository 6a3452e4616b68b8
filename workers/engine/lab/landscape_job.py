"""A run's landscape as the platform asks for it: the run's model rebuilt from its config and
kept weights, fixed subsets of its training and validation rows, and a line (initial to final
weights) or a surface (filter-normalized random directions, or the trajectory's PCA plane with
the path projected on it). Returns plain lists for JSON; the caller stores them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from workers.contract.landscape import part_blocks

from ..data import TrainingData
from ..losses import build_objective
from ..models import build_model
from .landscape import (
    filter_normalized_direction,
    flat,
    line,
    surface,
    trajectory,
    unflat,
)

PCA_MARGIN = 0.25  # the PCA plane's default range: the path's extent and a quarter more


@dataclass
class LandscapeSpec:
    kind: str  # "line" or "surface"
    grid: int
    rows: int
    range: list[float] | None
    directions: str | None  # "random" or "pca" for a surface
    seed: int
    batch_rows: int
    part: int = 0  # a surface's cells are split into `parts` (workers.contract.part_blocks)
    parts: int = 1


def landscape(config: dict, data: TrainingData, spec: LandscapeSpec,
              weights: Callable[[str], dict], snapshot_names: list[str], *, device,
              on_block: Callable | None = None) -> dict:  # fmt: skip
    """The landscape of a run trained with `config` on `data`: `weights(name)` loads a kept
    state dict ("final", "initial", the snapshots named in `snapshot_names`). A surface's part
    is computed coarse sub-grid first (its other cells stay None); `on_block(block, losses,
    head)` hears its blocks of cells as they end, with the axes (and path) in `head`."""
    n_classes = len(data.classes) if data.classes else None
    objective = build_objective(config["loss"], data.task, n_classes,
                                data.preprocessing.get("target_scale"))  # fmt: skip
    model = build_model(config["model"], data.n_features, objective.n_outputs)
    model.load_state_dict(weights("final"))
    model.to(device)
    sets = _row_sets(data, objective, spec, device)
    final = [p.detach().clone() for p in model.parameters()]
    bf16 = device.type == "cuda"
    if spec.kind == "line":
        start = _parameters(model, weights("initial"), device)
        alphas = np.linspace(*spec.range, spec.grid)
        result = line(model, objective, sets, start, final, alphas, batch_rows=spec.batch_rows,
                      bf16=bf16)  # fmt: skip
        out = {"alphas": alphas.tolist(), **{k: _json(v) for k, v in result.losses.items()}}
        return {**out, "forward_passes": result.forward_passes, "rows": _sizes(sets)}
    path = None
    if spec.directions == "pca":
        snapshots = [flat(_parameters(model, weights(n), device)) for n in snapshot_names]
        path = trajectory(snapshots, flat(final))
        d1, d2 = (unflat(c, final) for c in path["components"])
        alphas, betas = _pca_axes(path, spec)
    else:
        generator = torch.Generator().manual_seed(spec.seed)
        d1 = filter_normalized_direction(model, generator)
        d2 = filter_normalized_direction(model, generator)
        alphas = betas = np.linspace(*spec.range, spec.grid)
    head = {"alphas": alphas.tolist(), "betas": betas.tolist()}
    if path is not None:
        head["trajectory"] = {"x": path["x"].tolist(), "y": path["y"].tolist(),
                              "explained": path["explained"].tolist(), "names": snapshot_names}  # fmt: skip
    heard = None if on_block is None else (lambda block, values: on_block(block, values, head))
    result = surface(model, objective, sets, final, d1, d2, alphas, betas,
                     batch_rows=spec.batch_rows, bf16=bf16,
                     blocks=part_blocks(spec.grid, spec.part, spec.parts), on_block=heard)  # fmt: skip
    return {**head, **{k: _json(v) for k, v in result.losses.items()},
            "forward_passes": result.forward_passes, "rows": _sizes(sets)}  # fmt: skip


def _row_sets(data: TrainingData, objective, spec: LandscapeSpec, device) -> dict:
    """At most `spec.rows` of the training and of the validation rows, a fixed random subset
    (seeded: the same rows for every cell and every landscape of the same seed)."""
    generator = torch.Generator().manual_seed(spec.seed)
    sets = {}
    for name, x, y in (("train", data.x_train, data.y_train),
                       ("validation", data.x_val, data.y_val)):  # fmt: skip
        if x is None or not len(x):
            continue
        pick = torch.randperm(len(x), generator=generator)[: spec.rows]
        sets[name] = (x[pick].to(device), objective.encode_targets(y[pick].to(device)))
    return sets


def _parameters(model, state_dict: dict, device) -> list[torch.Tensor]:
    """A kept state dict's parameters, in the model's parameter order."""
    return [
        state_dict[name].to(device=device, dtype=p.dtype) for name, p in model.named_parameters()
    ]


def _pca_axes(path: dict, spec: LandscapeSpec) -> tuple[np.ndarray, np.ndarray]:
    if spec.range is not None:
        axis = np.linspace(*spec.range, spec.grid)
        return axis, axis
    axes = []
    for coords in (path["x"], path["y"]):
        low, high = min(coords.min(), 0.0), max(coords.max(), 0.0)
        pad = PCA_MARGIN * max(high - low, 1e-3)
        axes.append(np.linspace(low - pad, high + pad, spec.grid))
    return axes[0], axes[1]


def _json(values: np.ndarray) -> list:
    """Losses for JSON: a non-finite loss (the weights far out) becomes None."""
    if values.ndim > 1:
        return [_json(row) for row in values]
    return [_finite(v) for v in values]


def finite_row(values) -> list:
    """A row of losses for JSON, as `_json` writes them (the caller's progress rows)."""
    return _json(np.asarray(values))


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _sizes(sets: dict) -> dict:
    return {name: len(x) for name, (x, _) in sets.items()}
