"""Target scaling on diabetes (442 rows, target mean 152, std 77): the platform's default
model, optimizer and length (MLP 64-64, Adam 1e-3, 20 epochs at batch 32) trained on the raw
and on the standardized target, beside ordinary least squares on the same 80/20 split, mean of
3 seeds.

    .venv/bin/python -m bench.quality.target_scaling

The first step of bench/quality (issue 18); the six-dataset table is still to be written.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from tests.workers.test_engine import CPU, config, schema_for
from workers.engine import fit, prepare

DEFAULTS = {
    "model": {"type": "mlp", "hidden": [64, 64], "activation": "relu", "dropout": 0.0,
              "batch_norm": False},
    "optimizer": "adam", "momentum": None, "learning_rate": 1e-3, "epochs": 20, "batch_size": 32,
}  # fmt: skip


def main() -> None:
    diabetes = load_diabetes()
    table = {f"f{i}": diabetes.data[:, i] for i in range(diabetes.data.shape[1])}
    table["y"] = diabetes.target.astype(float)
    for scaling in ("none", "standardize"):
        scores = []
        for seed in (0, 1, 2):
            cfg = config(**DEFAULTS, seed=seed, target_scaling=scaling)
            data = prepare(table, schema_for(table), cfg)
            r2 = fit(cfg, data, device=CPU).summary["final_metrics"]["val_r2"]
            x, y = data.x_train.numpy(), data.y_train.numpy()[:, 0]
            ols = LinearRegression().fit(x, y).score(data.x_val.numpy(), data.y_val.numpy()[:, 0])
            scores.append((r2, ols))
        ours, ols = np.mean(scores, axis=0)
        print(f"target_scaling={scaling:<12} val R² {ours:.3f}   least squares {ols:.3f}")


if __name__ == "__main__":
    main()
