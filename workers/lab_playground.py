"""The playground's job on a training worker: the points (generated, or the user's one-feature
dataset), each chosen optimizer's path by the engine, and the exact surface, stored at once."""

from __future__ import annotations

import logging

import numpy as np

from downhill.lab.playground import playground_claim, playground_finish
from downhill.lab.playground_models import Playground
from workers.contract.playground import POINTS, X_RANGE

from .engine.lab.playground import line_points, playground
from .failures import internal_error
from .tables import read_table

log = logging.getLogger(__name__)
S = Playground.Status


def execute_playground(playground_id: int) -> None:
    """Run a queued playground to its end; nothing raises (a failure says why on the row)."""
    if not playground_claim(playground_id):
        log.info("playground %s is not queued; skipping", playground_id)
        return
    row = Playground.objects.select_related("dataset").get(pk=playground_id)
    try:
        x, y = points(row)
        if len(x) < 2 or np.ptp(x) == 0:
            raise ValueError("it needs at least two rows with different feature values")
        params = row.params
        result = playground(x, y, params["optimizers"], start=(params["start_w"], params["start_b"]),
                            seed=params["seed"], grid=params["grid"])  # fmt: skip
    except ValueError as exc:
        playground_finish(playground_id, S.FAILED, error=f"The data cannot be drawn: {exc}.")
        return
    except Exception as exc:  # noqa: BLE001 (the user sees a sentence; the log has the trace)
        log.exception("playground %s failed", playground_id)
        error = internal_error(exc)
        playground_finish(playground_id, S.FAILED, error=error)
        return
    playground_finish(playground_id, S.SUCCEEDED, result=result)


def points(row: Playground) -> tuple[np.ndarray, np.ndarray]:
    """x and y: the generated line's, or the dataset's feature and target without missing rows."""
    if row.dataset is None:
        p = row.params
        return line_points(p["slope"], p["intercept"], p["noise"], p["seed"], POINTS, X_RANGE)
    dataset = row.dataset
    table = read_table(dataset)
    feature = next(c["name"] for c in dataset.columns if c["name"] != dataset.target)
    x, y = table[feature].astype(np.float64), table[dataset.target].astype(np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]
