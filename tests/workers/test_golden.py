"""Golden runs: fixed-seed CPU runs whose every number was recorded before the trainer was
restructured (tests/workers/golden/engine.json, written on main at 8d4c4e5). The step series,
the epoch metrics, the events, the batch sizes, the summary and the final weights must stay
identical, bit for bit: a restructure moves code, it does not change what training computes.
Bit for bit on the kind of CPU the file was recorded on; on another, everything but floats
exactly and floats within recorded_cpu.CROSS_CPU_REL_TOL (recorded_cpu.py says why).

`record()` below is the only part that follows the engine's API; the recorded file never
changes. Regenerate it only for a deliberate change of behaviour, and say so in the commit:
`.venv/bin/python -m tests.workers.test_golden --write`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from tests.workers.recorded_cpu import float_tolerance
from tests.workers.test_engine import CPU, config, linear_table, schema_for
from tests.workers.test_training_options import CancelAtStep, EventRecorder
from workers.engine import fit, prepare

GOLDEN = Path(__file__).parent / "golden" / "engine.json"


def iris_table() -> dict:
    from sklearn.datasets import load_iris

    iris = load_iris()
    table = {name: iris.data[:, i] for i, name in enumerate(iris.feature_names)}
    table["y"] = np.array([f"c{t}" for t in iris.target], dtype=object)
    return table


def scenarios() -> dict[str, tuple[dict, dict]]:
    """name -> (config, table) of each golden run."""
    regression = linear_table(n=200)
    classification = iris_table()
    classify = {"task": "classification", "loss": "cross_entropy"}
    return {
        # SWA, an optimizer switch, warm restarts with warmup, a growing batch, dropout and BN.
        "swa_switch_warm_restarts": (
            config(
                epochs=9,
                optimizer="adam",
                momentum=None,
                learning_rate=0.01,
                model={
                    "type": "mlp",
                    "hidden": [16],
                    "activation": "relu",
                    "dropout": 0.3,
                    "batch_norm": True,
                },
                lr_schedule={
                    "type": "warm_restarts",
                    "first_cycle_epochs": 2,
                    "cycle_mult": 2.0,
                    "min_lr": 0.0,
                    "warmup_epochs": 1,
                },
                optimizer_switch={
                    "at_epoch": 3,
                    "optimizer": "sgd",
                    "learning_rate": 0.002,
                    "momentum": 0.9,
                },
                batch_size_schedule={"every_epochs": 4, "factor": 2.0, "max": 64},
                swa={"start_epoch": 7, "lr": 0.001},
            ),
            regression,
        ),  # fmt: skip
        # Early stopping with restore-best on a classification run with a test split.
        "early_stopping_restore_best": (
            config(
                **classify,
                epochs=40,
                optimizer="sgd",
                momentum=0.9,
                nesterov=True,
                learning_rate=0.05,
                test_split=0.1,
                model={"type": "mlp", "hidden": [8], "activation": "tanh"},
                lr_schedule={"type": "cosine", "min_lr": 0.001, "warmup_epochs": 0},
                early_stopping={
                    "patience_epochs": 3,
                    "min_delta": 0.0,
                    "monitor": "val_accuracy",
                    "restore_best": True,
                },
                gradient_clipping={"max_norm": 1.0},
            ),
            classification,
        ),  # fmt: skip
        # A plateau schedule that decays and then stops the run below min_lr.
        "plateau_stop": (
            config(
                epochs=60,
                optimizer="rmsprop",
                momentum=0.5,
                learning_rate=0.2,
                lr_schedule={
                    "type": "plateau",
                    "factor": 0.5,
                    "patience_epochs": 0,
                    "min_lr": 0.04,
                    "warmup_epochs": 0,
                },
                gradient_clipping={"max_value": 5.0},
            ),
            linear_table(n=200, noise=3.0),
        ),  # fmt: skip
    }


def _floats(values) -> list:
    return [v if isinstance(v, float) and math.isfinite(v) else repr(v) for v in values]


def _weights(model: torch.nn.Module) -> dict:
    """Each tensor of the final model: a digest of its exact bytes, and its sum to read."""
    return {
        name: {
            "sha256": hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest(),
            "sum": float(t.detach().double().sum()),
        }
        for name, t in model.state_dict().items()
    }


def _record_run(result, recorder: EventRecorder) -> dict:
    return {
        "points": [list(p) for p in recorder.points],
        "epochs": recorder.epochs,
        "events": recorder.events,
        "batch_sizes": [list(b) for b in recorder.batch_sizes],
        "summary": result.summary,
        "weights": _weights(result.model),
    }


def record() -> dict:
    """Every golden run, as plain JSON values (the engine's API is used only here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same sums in the same order on any machine
    try:
        out = {}
        for name, (cfg, table) in scenarios().items():
            recorder = EventRecorder()
            data = prepare(table, schema_for(table), cfg)
            out[name] = _record_run(fit(cfg, data, [recorder], device=CPU), recorder)
        # A mid-epoch cancel (inside the switch's epoch) and its resume, as two attempts.
        cfg, table = scenarios()["swa_switch_warm_restarts"]
        data = prepare(table, schema_for(table), cfg)
        first = CancelAtStep(12)
        stopped = fit(cfg, data, [first], device=CPU, sync_seconds=0.0, checkpoint_seconds=3600)
        second = EventRecorder()
        checkpoint = copy.deepcopy(first.checkpoints[-1])
        resumed = fit(cfg, data, [second], device=CPU, resume=checkpoint)
        out["cancel_mid_epoch_and_resume"] = {
            "stopped": {**_record_run(stopped, first), "checkpoint_step": checkpoint["step"]},
            "resumed": _record_run(resumed, second),
        }
        return json.loads(json.dumps(out))  # tuples become lists, as in the file
    finally:
        torch.set_num_threads(threads)


def _diff(expected, actual, path="", rel: float | None = None) -> str | None:
    """The first place two recorded values differ, for a readable failure. `rel`: floats may
    differ by that much, relatively, and digests of exact bytes are not compared (a run on a
    CPU other than the recording's, recorded_cpu.py)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return f"{path}/{key}: only in {'recorded' if key in expected else 'new'}"
            if rel is not None and key == "sha256":
                continue
            found = _diff(expected[key], actual[key], f"{path}/{key}", rel)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} items recorded, {len(actual)} now"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = _diff(e, a, f"{path}[{i}]", rel)
            if found:
                return found
        return None
    return (
        None if _same(expected, actual, rel) else f"{path}: recorded {expected!r}, now {actual!r}"
    )


def _same(expected, actual, rel: float | None) -> bool:
    if expected == actual:
        return True
    if not (isinstance(expected, float) and isinstance(actual, float)):
        return False
    if math.isnan(expected) and math.isnan(actual):
        return True
    return rel is not None and math.isclose(expected, actual, rel_tol=rel, abs_tol=1e-9)


def test_golden_runs_are_identical_to_the_recorded_ones():
    recorded = json.loads(GOLDEN.read_text())
    assert _diff(recorded, record(), rel=float_tolerance()) is None


def test_the_golden_runs_exercise_what_they_are_named_for():
    """Guards the file itself: a golden run that no longer switches, averages, restarts or
    stops early would pass the comparison above while pinning nothing."""
    recorded = json.loads(GOLDEN.read_text())
    swa = {e["type"] for e in recorded["swa_switch_warm_restarts"]["events"]}
    assert {"optimizer_switch", "swa_start", "swa_final", "restart", "warmup_end"} <= swa
    stopping = recorded["early_stopping_restore_best"]
    assert stopping["summary"]["stop_reason"] == "early_stopping"
    assert {"early_stop", "restore_best"} <= {e["type"] for e in stopping["events"]}
    assert "test_metrics" in stopping["summary"]
    plateau = recorded["plateau_stop"]
    assert plateau["summary"]["stop_reason"] == "lr_below_min"
    assert "decay" in {e["type"] for e in plateau["events"]}
    cancel = recorded["cancel_mid_epoch_and_resume"]
    assert cancel["stopped"]["checkpoint_step"] == 12
    assert cancel["resumed"]["events"][0]["type"] == "resumed"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.workers.test_golden --write")
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
