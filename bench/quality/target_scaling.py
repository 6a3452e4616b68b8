"""Target scaling on diabetes (442 rows, target mean 152, std 77): the platform's default
model, optimizer and length (MLP 64-64, Adam 1e-3, 20 epochs at batch 32) trained on the raw
and on the standardized target, beside ordinary least squares on the same 80/20 split, mean of
3 seeds.

    .venv/bin/python -m bench.quality.target_scaling

The first step of bench/quality (issue 18), kept to reproduce its numbers; the table of every
default is bench/quality/run.py.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from bench.quality.run import as_table, default_config
from workers.engine import fit, prepare


def main() -> None:
    diabetes = load_diabetes()
    table, schema = as_table(diabetes.data, diabetes.target, "regression")
    for scaling in ("none", "standardize"):
        scores = []
        for seed in (0, 1, 2):
            cfg = default_config("regression", len(diabetes.target), seed, fixed_epochs=20)
            cfg.update(validation_split=0.2, test_split=0.0, target_scaling=scaling)
            data = prepare(table, schema, cfg)
            r2 = fit(cfg, data, device=torch.device("cpu")).summary["final_metrics"]["val_r2"]
            x, y = data.x_train.numpy(), data.y_train.numpy()[:, 0]
            ols = LinearRegression().fit(x, y).score(data.x_val.numpy(), data.y_val.numpy()[:, 0])
            scores.append((r2, ols))
        ours, ols = np.mean(scores, axis=0)
        print(f"target_scaling={scaling:<12} val R² {ours:.3f}   least squares {ols:.3f}")


if __name__ == "__main__":
    main()
