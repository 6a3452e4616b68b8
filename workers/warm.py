"""A training worker's warm-up, as it starts: it loads torch, the engine and the modules of a
run's path, then trains a tiny table for one epoch with the platform's default config, on the
device runs use. What a first run would otherwise pay on the way to its first loss point (the
imports, NumPy's lazily loaded parts such as numpy.ma, which `np.unique` in the split loads,
the optimizer's first step, the kernels and the autograd machinery) is paid here, before the
worker takes a run (bench/dispatch)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ROWS = 64
# Set by scripts/run.sh: the file a training worker creates once warm, which the script waits
# for before it says that Downhill is ready.
MARKER_ENV = "DOWNHILL_WARM_MARKER"


def tiny_dataset():
    """An unsaved dataset row: two numeric features, one categorical, a categorical target."""
    from downhill.datasets.models import Dataset

    def column(name: str, dtype: str) -> dict:
        return {"name": name, "dtype": dtype, "missing": 0, "integer": False,
                "distinct": 2 if dtype == "categorical" else ROWS, "distinct_capped": False}  # fmt: skip

    columns = [column("a", "numeric"), column("b", "numeric"), column("c", "categorical"),
               column("label", "categorical")]  # fmt: skip
    return Dataset(id=1, name="warm-up", status=Dataset.Status.READY, n_rows=ROWS,
                   columns=columns, target="label", task=Dataset.Task.CLASSIFICATION)  # fmt: skip


def tiny_table() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.array(["left", "right"] * (ROWS // 2), dtype=object)
    return {"a": rng.normal(size=ROWS), "b": rng.normal(size=ROWS), "c": labels[::-1].copy(),
            "label": labels}  # fmt: skip


def warm_up() -> float | None:
    """Train the tiny table once and log it; then create the marker file, warm or not (a
    failed warm-up is logged: the worker still takes runs). Returns the seconds, or None."""
    try:
        return _train_tiny_table()
    except Exception:
        log.exception("worker warm-up failed; the first run will load what it needs")
        return None
    finally:
        marker = os.environ.get(MARKER_ENV)
        if marker:
            Path(marker).touch()


def _train_tiny_table() -> float:
    started = time.perf_counter()
    from downhill.experiments.config import normalize_config

    from . import runner  # noqa: F401  (the run path's modules: the attempt, checkpoints, weights)
    from .engine import fit, pick_device, prepare

    device = pick_device()
    dataset = tiny_dataset()
    config = normalize_config(
        {"dataset": dataset.id, "epochs": 1, "seed": 0}, dataset_lookup=lambda pk: dataset
    )
    fit(config, prepare(tiny_table(), dataset.columns, config), [], device=device)
    seconds = time.perf_counter() - started
    log.info("worker warm: torch and the engine loaded on %s in %.2f s", device, seconds)
    return seconds
