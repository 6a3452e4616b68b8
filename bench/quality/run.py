"""Quality of the defaults (issue 18): a run with every setting at its default, on bundled
scikit-learn datasets and generated ones (150 to 20,000 rows, classification and regression),
beside scikit-learn's LogisticRegression / LinearRegression and MLPClassifier / MLPRegressor
(their defaults) on the same rows, mean of 5 seeds.

    make bench-quality                 # or: .venv/bin/python -m bench.quality.run [--quick]

The protocol is a user's: per seed the rows are split 80/20; the 20 % are held out from
everything (the run's test_split, measured once on its final model, which they did not
choose). The run sees the 80 % as a user's upload and holds out its default 20 % of those for
validation (validation_split 0.16 of all rows); the references train on all of the 80 %. The
gate: within 1 point of accuracy / 0.02 R² of the better reference on 500 rows or more, 2
points / 0.05 below that.

The engine is called directly (workers.engine.prepare + fit, the code path of a run), with one
torch thread. `--fixed-epochs N` measures the old fixed length instead (no early stopping),
`--budget` / `--patience-share` try other values of workers.contract.spec.length.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
if str(ROOT) not in sys.path:  # run as a script: bench/quality/run.py
    sys.path.insert(0, str(ROOT))

from bench.host import host_facts  # noqa: E402
from workers.contract.spec import SETTINGS, applies, resolve  # noqa: E402
from workers.contract.spec import length as run_length  # noqa: E402
from workers.engine import fit, prepare  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)
HELD_OUT = 0.2  # the outer split: rows that choose nothing
VALIDATION_OF_REST = 0.2  # the run's default validation_split, of the rows it is given
SMALL = 500  # below this many rows the gate is looser
# Allowed shortfall to the better reference: (500 rows or more, fewer), accuracy in points.
GATE = {"classification": (1.0, 2.0), "regression": (0.02, 0.05)}


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


def _bundled(loader):
    def load():
        bunch = loader()
        return bunch.data.astype(float), bunch.target

    return load


def _classification_20k():
    return datasets.make_classification(
        n_samples=20_000, n_features=20, n_informative=10, n_redundant=4, n_classes=3,
        class_sep=1.0, flip_y=0.02, random_state=0,
    )  # fmt: skip


def _friedman_2k():
    return datasets.make_friedman1(n_samples=2_000, n_features=10, noise=1.0, random_state=0)


def _regression_20k():
    return datasets.make_regression(
        n_samples=20_000, n_features=20, n_informative=10, noise=20.0, bias=300.0, random_state=0
    )


DATASETS = (
    Dataset("iris", "classification", _bundled(datasets.load_iris)),
    Dataset("wine", "classification", _bundled(datasets.load_wine)),
    Dataset("diabetes", "regression", _bundled(datasets.load_diabetes)),
    Dataset("breast_cancer", "classification", _bundled(datasets.load_breast_cancer)),
    Dataset("digits", "classification", _bundled(datasets.load_digits)),
    Dataset("friedman1 (generated)", "regression", _friedman_2k),
    Dataset("classification (generated)", "classification", _classification_20k),
    Dataset("regression (generated)", "regression", _regression_20k),
)
QUICK = ("iris", "diabetes", "breast_cancer", "digits", "friedman1 (generated)")


OVERRIDES: dict = {}  # --set: defaults to try instead ("model.hidden": [128, 128])


def _override(item: str) -> tuple[str, object]:
    key, _, value = item.partition("=")
    return key, json.loads(value)


def _apply(config: dict, overrides: dict) -> None:
    """Other defaults to measure; a changed optimizer takes its own default rate and decay
    unless those are set too."""
    for key, value in overrides.items():
        top, _, inner = key.partition(".")
        if inner:
            config[top] = {**config[top], inner: value}
        else:
            config[top] = value
        if key == "optimizer":
            for setting in SETTINGS:
                if (
                    setting.key in ("learning_rate", "weight_decay", "momentum")
                    and setting.key not in overrides
                ):
                    config[setting.key] = (
                        resolve(setting.default, config) if applies(setting, config) else None
                    )


def default_config(task: str, n_rows: int, seed: int, fixed_epochs: int | None = None) -> dict:
    """Every setting at the spec's default, as normalize_config fills them for a dataset of
    `n_rows` rows whose target column is "y" (held-out shares as described above)."""
    config: dict = {"target": "y", "task": task}
    for setting in SETTINGS:
        if setting.key in config:
            continue
        config[setting.key] = resolve(setting.default, config) if applies(setting, config) else None
    validation = VALIDATION_OF_REST * (1 - HELD_OUT)
    config.update(validation_split=validation, test_split=HELD_OUT, seed=seed)
    _apply(config, OVERRIDES)
    n_train = n_rows - round(n_rows * validation) - round(n_rows * HELD_OUT)
    if fixed_epochs:
        config.update(epochs=fixed_epochs, early_stopping=None)
    else:
        config["epochs"] = run_length.default_epochs(n_train, config["batch_size"])
        config["early_stopping"] = run_length.default_early_stopping(config)
    return config


def as_table(x: np.ndarray, y: np.ndarray, task: str) -> tuple[dict, list[dict]]:
    table = {f"f{i}": x[:, i] for i in range(x.shape[1])}
    table["y"] = y.astype(str) if task == "classification" else y.astype(float)
    schema = [{"name": n, "dtype": "numeric"} for n in table if n != "y"]
    schema.append({"name": "y", "dtype": "categorical" if task == "classification" else "numeric"})
    return table, schema


def _references(task: str, seed: int):
    if task == "classification":
        return {"linear": LogisticRegression(max_iter=1000),
                "mlp": MLPClassifier(random_state=seed, max_iter=1000)}  # fmt: skip
    return {"linear": LinearRegression(), "mlp": MLPRegressor(random_state=seed, max_iter=1000)}


def one_seed(ds: Dataset, x: np.ndarray, y: np.ndarray, seed: int, fixed: int | None) -> dict:
    """Ours and the references' held-out score (accuracy or R²) on one seed's split."""
    table, schema = as_table(x, y, ds.task)
    config = default_config(ds.task, len(y), seed, fixed)
    data = prepare(table, schema, config)
    started = time.perf_counter()
    result = fit(config, data, device=torch.device("cpu"))
    seconds = time.perf_counter() - started
    metric = "test_accuracy" if ds.task == "classification" else "test_r2"
    scores = {"ours": result.summary["test_metrics"][metric]}
    # The references see the same rows: the run's training and validation rows, preprocessed
    # the same way, and are scored on the same held-out rows.
    x_fit = np.concatenate([data.x_train.numpy(), data.x_val.numpy()])
    y_fit = np.concatenate([data.y_train.numpy(), data.y_val.numpy()])
    y_fit = y_fit if ds.task == "classification" else y_fit[:, 0]
    y_test = data.y_test.numpy() if ds.task == "classification" else data.y_test.numpy()[:, 0]
    for name, model in _references(ds.task, seed).items():
        scores[name] = model.fit(x_fit, y_fit).score(data.x_test.numpy(), y_test)
    scores.update(epochs=result.summary["epochs_completed"], of=config["epochs"],
                  steps=result.summary["steps_completed"], seconds=seconds)  # fmt: skip
    return scores


def measure(ds: Dataset, seeds, fixed: int | None) -> dict:
    x, y = ds.load()
    runs = [one_seed(ds, x, y, seed, fixed) for seed in seeds]
    mean = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    scale = 100 if ds.task == "classification" else 1  # accuracy in points
    best_ref = max(mean["linear"], mean["mlp"])
    gap = (mean["ours"] - best_ref) * scale
    allowed = GATE[ds.task][len(y) < SMALL]
    return {"dataset": ds.name, "task": ds.task, "rows": len(y), **mean, "gap": gap,
            "allowed": allowed, "passes": gap >= -allowed - 1e-12}  # fmt: skip


def _row(r: dict) -> str:
    fmt = "{:.1f}" if r["task"] == "classification" else "{:.3f}"
    gap = f"{r['gap']:+.1f} pt" if r["task"] == "classification" else f"{r['gap']:+.3f}"
    scores = [fmt.format(r[k] * (100 if r["task"] == "classification" else 1))
              for k in ("ours", "linear", "mlp")]  # fmt: skip
    verdict = "pass" if r["passes"] else "FAIL"
    return (f"| {r['dataset']} | {r['task'][:5]} | {r['rows']:,} | {' | '.join(scores)} | {gap} | "
            f"{verdict} (±{r['allowed']:g}) | {r['epochs']:.0f} of {r['of']:.0f} | {r['steps']:,.0f} | {r['seconds']:.1f} |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 datasets up to 2,000 rows, 2 seeds")
    parser.add_argument("--only", nargs="*", help="dataset names to run")
    parser.add_argument("--fixed-epochs", type=int, help="the old fixed length, no early stopping")
    parser.add_argument("--budget", type=int, help="try another STEP_BUDGET")
    parser.add_argument("--patience-share", type=float, help="try another PATIENCE_SHARE")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON",
                        help='change a default: optimizer=\'"sgd"\' model.hidden=[128,128]')  # fmt: skip
    parser.add_argument("--label", default="", help="names the results file (results/<label>.json)")
    args = parser.parse_args()
    global OVERRIDES
    OVERRIDES = dict(_override(item) for item in args.set)
    if args.budget:
        run_length.STEP_BUDGET = args.budget
    if args.patience_share is not None:
        run_length.PATIENCE_SHARE = args.patience_share
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    chosen = [d for d in DATASETS if (not args.quick or d.name in QUICK)
              and (not args.only or d.name in args.only)]  # fmt: skip
    seeds = SEEDS[:2] if args.quick else SEEDS
    length = (f"fixed {args.fixed_epochs} epochs" if args.fixed_epochs else
              f"step budget {run_length.STEP_BUDGET:,}, patience share {run_length.PATIENCE_SHARE:g}")  # fmt: skip
    length += "".join(f", {item}" for item in args.set)
    host = host_facts()
    print(f"# defaults ({length}), mean of {len(seeds)} seeds; {host}")
    print(
        "| dataset | task | rows | Downhill | linear | MLP | gap to better | gate | epochs run | steps | s/run |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    rows = []
    for ds in chosen:
        rows.append(measure(ds, seeds, args.fixed_epochs))
        print(_row(rows[-1]), flush=True)
    passed = sum(r["passes"] for r in rows)
    print(f"\n{passed} of {len(rows)} within the gate (accuracy in %, R² for regression; "
          "scikit-learn: LogisticRegression / LinearRegression, MLPClassifier / MLPRegressor)")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    name = args.label or ("quick-defaults" if args.quick else "defaults")
    result = {"length": length, "seeds": len(seeds), "host": host, "datasets": rows}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
