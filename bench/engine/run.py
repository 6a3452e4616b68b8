"""The engine against a hand-written PyTorch loop: samples per second, same model, data, batch.

    .venv/bin/python bench/engine/run.py [--quick]

Both sides train the platform's default model (MLP, hidden [64, 64], relu) with its default
optimizer (adam, lr 1e-3) at batch size 32, without validation, for the same epochs on the
same synthetic 4-class data, resident on the device. The engine runs as a worker runs it: its
worker callbacks (workers/callbacks.py: metrics writer, stop watch, checkpoint store, with the
run attempt's heartbeat thread writing about once a second) stream every step's loss and lr into
a Run row of a throwaway SQLite database. It also runs without callbacks, which splits any gap into
the loop's share and the metric writes' share.

Repetitions rotate through the three sides, a first round is discarded as warm-up, and the
gate is the median of the per-round ratios engine / bare: pairing cancels the slow drift of a
shared machine. Exit status 1 when that median is below 0.95 at torch's default thread count,
the one a worker trains with; on a CPU a second pass with one thread is reported beside it.

Results go to bench/engine/results/<device>.json (quick runs to quick-<device>.json, ignored).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from host import host_facts  # noqa: E402  (bench/host.py)

RESULTS = Path(__file__).resolve().parent / "results"
GATE = 0.95  # the engine must keep at least 95 % of the bare loop's samples per second

ROWS, FEATURES, CLASSES = 20_000, 32, 4
BATCH_SIZE = 32
SEED = 0


def setup_django(var_dir: str) -> None:
    """Django on a fresh SQLite database in `var_dir`: never the checkout's var/ or a
    DATABASE_URL from the environment."""
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    os.environ["DOWNHILL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "downhill.settings"
    os.environ.setdefault("DOWNHILL_LOG_LEVEL", "WARNING")  # not a line per run transition
    for name in ("DATABASE_URL", "DOWNHILL_MEDIA_ROOT", "DOWNHILL_BROKER_DIR"):
        os.environ.pop(name, None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def synthetic_data(device):
    """Features N(0, 1); the class is the argmax of a fixed random linear map plus noise."""
    import torch

    generator = torch.Generator().manual_seed(SEED)
    x = torch.randn(ROWS, FEATURES, generator=generator)
    weights = torch.randn(FEATURES, CLASSES, generator=generator)
    noise = 0.5 * torch.randn(ROWS, CLASSES, generator=generator)
    y = (x @ weights + noise).argmax(dim=1)
    return x.to(device), y.to(device)


def experiment_rows(epochs: int):
    """A user, a ready dataset row describing the synthetic table, and an experiment whose
    config is the platform's own defaults (normalize_config) for that dataset."""
    from django.contrib.auth import get_user_model

    from downhill.datasets.models import Dataset
    from downhill.experiments.config import normalize_config
    from downhill.experiments.models import Experiment

    user = get_user_model().objects.create_user("bench")
    feature = {"dtype": "numeric", "missing": 0, "integer": False, "distinct": ROWS,
               "distinct_capped": False}  # fmt: skip
    target = {"name": "label", "dtype": "numeric", "missing": 0, "integer": True,
              "distinct": CLASSES, "distinct_capped": False, "min": 0, "max": CLASSES - 1}  # fmt: skip
    dataset = Dataset.objects.create(
        owner=user, name="synthetic", status=Dataset.Status.READY, n_rows=ROWS,
        columns=[{"name": f"x{i}", **feature} for i in range(FEATURES)] + [target],
        target="label", task=Dataset.Task.CLASSIFICATION,
    )  # fmt: skip
    config = normalize_config(
        {"dataset": dataset.id, "target": "label", "task": "classification",
         "batch_size": BATCH_SIZE, "validation_split": 0, "epochs": epochs, "seed": SEED},
        dataset_lookup=lambda pk: Dataset.objects.filter(pk=pk).first(),
    )  # fmt: skip
    # The bare loop below is written for exactly these defaults; if they change, so must it.
    expected = {"type": "mlp", "hidden": [64, 64], "activation": "relu", "dropout": 0.0,
                "batch_norm": False}  # fmt: skip
    assert config["model"] == expected, config["model"]
    assert (config["optimizer"], config["learning_rate"], config["loss"]) == (
        "adam", 1e-3, "cross_entropy",
    ), config  # fmt: skip
    assert config["lr_schedule"]["type"] == "constant" and not config["gradient_clipping"]
    return Experiment.objects.create(owner=user, dataset=dataset, name="bench", config=config)


def bare_fit(x, y, epochs: int):
    """What a careful person writes by hand: data on the device, randperm, forward, loss,
    zero_grad, backward, step. Returns the model."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    # Seeded as the engine seeds: both start from the same weights and see the same batches.
    torch.manual_seed(SEED)
    shuffle = torch.Generator().manual_seed(SEED)
    model = nn.Sequential(
        nn.Linear(FEATURES, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, CLASSES)
    ).to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(x)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=shuffle).to(x.device)
        for start in range(0, n, BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    if x.device.type == "cuda":
        torch.cuda.synchronize()  # the engine ends on a sync too (it reads the last losses)
    return model


def engine_fit(experiment, x, y, *, with_sink: bool = True):
    """The engine as workers.runner.execute_run calls it: a claimed RunAttempt (its heartbeat
    thread writing) and the worker's callbacks on a fresh Run row, checkpoints at the configured
    cadence (or no callbacks at all). Returns (model, seconds); timed: `fit` and the attempt's
    last write (every point written, as before the run is marked finished)."""
    from django.conf import settings

    from downhill.runs.metric_chunks import points_count
    from downhill.runs.models import Run
    from workers.attempt import RunAttempt
    from workers.callbacks import CheckpointStore, MetricsWriter, StopWatch
    from workers.engine import TrainingData, fit

    config = experiment.config
    data = TrainingData(
        x_train=x, y_train=y, x_val=None, y_val=None, task="classification",
        classes=[str(c) for c in range(CLASSES)], preprocessing={},
    )  # fmt: skip
    if not with_sink:
        started = time.perf_counter()
        result = fit(config, data, [], device=x.device)
        return result.model, time.perf_counter() - started

    run = Run.objects.create(experiment=experiment, epochs=config["epochs"])
    attempt = RunAttempt(run.id, device=x.device.type)
    assert attempt.claim()
    writer = MetricsWriter(run.id)
    attempt.writers.append(writer)
    callbacks = [writer, StopWatch(attempt), CheckpointStore(attempt)]
    started = time.perf_counter()
    result = fit(
        config, data, callbacks, device=x.device,
        checkpoint_seconds=settings.DOWNHILL_CHECKPOINT_SECONDS,
    )  # fmt: skip
    attempt.close()
    seconds = time.perf_counter() - started
    # Callbacks that stopped writing (a lost lease, say) would make the engine look cheap.
    assert result.state.stop is None, result.state.stop_reason
    written = points_count(run.id, "train_loss")
    assert written == result.state.step, f"the writer wrote {written} of {result.state.step} steps"
    attempt.finish(Run.Status.SUCCEEDED, summary=result.summary)
    return result.model, seconds


def bare_timed(experiment, x, y):
    started = time.perf_counter()
    model = bare_fit(x, y, experiment.config["epochs"])
    return model, time.perf_counter() - started


SIDES = {
    "bare": bare_timed,
    "engine_no_callbacks": lambda experiment, x, y: engine_fit(experiment, x, y, with_sink=False),
    "engine": engine_fit,  # with the worker's callbacks: what the gate measures
}


def max_weight_difference(a, b) -> float:
    pairs = zip(a.parameters(), b.parameters(), strict=True)
    return max((p - q).abs().max().item() for p, q in pairs)


def measure(experiment, x, y, reps: int) -> dict:
    """`reps` timed rounds of the three sides after one warm-up round. The order rotates from
    round to round, so no side always runs on another's leftovers."""
    samples = experiment.config["epochs"] * len(x)
    names = list(SIDES)
    speeds: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {"engine": [], "engine_no_callbacks": []}
    weight_difference = 0.0
    for rep in range(reps + 1):
        speed, models = {}, {}
        for name in names[rep % 3 :] + names[: rep % 3]:
            gc.collect()
            models[name], seconds = SIDES[name](experiment, x, y)
            speed[name] = samples / seconds
        weight_difference = max(
            weight_difference, max_weight_difference(models["bare"], models["engine"])
        )
        if rep == 0:
            continue  # warm-up
        for name in names:
            speeds[name].append(speed[name])
        for name in ratios:
            ratios[name].append(speed[name] / speed["bare"])
        print(
            f"  round {rep}/{reps}: bare {speed['bare']:8,.0f}   engine, no callbacks "
            f"{speed['engine_no_callbacks']:8,.0f}   engine {speed['engine']:8,.0f}   "
            f"ratio {ratios['engine'][-1]:.3f}",
            flush=True,
        )
    return {
        **{name: summarize(values) for name, values in speeds.items()},
        "ratio": summarize(ratios["engine"], digits=3),
        "ratio_no_callbacks": summarize(ratios["engine_no_callbacks"], digits=3),
        # Same seed, same batches: anything but ~0 would mean the two did different work.
        "max_weight_difference_bare_vs_engine": float(f"{weight_difference:.2g}"),
    }


def summarize(values: list[float], digits: int = 0) -> dict:
    def r(v):
        return round(v, digits) if digits else round(v)

    return {"median": r(statistics.median(values)), "min": r(min(values)), "max": r(max(values)),
            "values": [r(v) for v in values]}  # fmt: skip


def machine(device) -> dict:
    import torch

    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        **host_facts(),
        "torch": torch.__version__,
        "torch_default_threads": torch.get_num_threads(),
    }


def main() -> int:
    global BATCH_SIZE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds of 3 epochs at the default threads: a smoke test, noisier than the full run",
    )
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"default {BATCH_SIZE} (bench/gpu: 1024)"
    )
    args = parser.parse_args()
    reps, epochs = (3, 3) if args.quick else (7, 10)
    BATCH_SIZE = args.batch_size

    with tempfile.TemporaryDirectory(prefix="downhill-bench-") as var_dir:
        setup_django(var_dir)
        import torch

        from workers.engine import pick_device

        device = pick_device()
        info = machine(device)
        default_threads = info["torch_default_threads"]
        thread_counts = [default_threads]
        if not args.quick and device.type == "cpu" and default_threads != 1:
            thread_counts.append(1)
        print(f"{info['device']}; {info['cpu']}, {info['cores']} cores; torch {info['torch']}; "
              f"load {info['load_average_at_start']}")  # fmt: skip
        if info["load_average_at_start"][0] > info["cores"] / 2:
            print("warning: the machine is busy; other processes' work will show in the numbers")
        print(f"{ROWS:,} rows x {FEATURES} features, {CLASSES} classes, batch {BATCH_SIZE}, "
              f"{epochs} epochs; {reps} timed rounds after a warm-up round")  # fmt: skip

        experiment = experiment_rows(epochs)
        x, y = synthetic_data(device)
        runs = []
        for threads in thread_counts:
            torch.set_num_threads(threads)
            print(f"torch threads: {threads}", flush=True)
            runs.append({"threads": threads, **measure(experiment, x, y, reps)})
        torch.set_num_threads(default_threads)
        info["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]

    passed = runs[0]["ratio"]["median"] >= GATE  # runs[0]: the default thread count
    print(f"\nsamples/s, median (min-max) of {reps} rounds")
    print(table(runs))
    print(f"\n{'PASS' if passed else 'FAIL'}: engine / bare at {default_threads} torch threads "
          f"must be at least {GATE} (median)")  # fmt: skip

    result = {
        "command": "bench/engine/run.py" + (" --quick" if args.quick else "")
        + (f" --batch-size {BATCH_SIZE}" if BATCH_SIZE != 32 else ""),
        "machine": info,
        "setup": {"rows": ROWS, "features": FEATURES, "classes": CLASSES, "batch_size": BATCH_SIZE,
                  "epochs": epochs, "rounds": reps, "model": experiment.config["model"],
                  "optimizer": "adam", "learning_rate": 1e-3, "validation_split": 0,
                  "engine_callbacks": "workers.callbacks (MetricsWriter, StopWatch, CheckpointStore) and RunAttempt's heartbeat thread, on SQLite"},
        "runs": runs,
        "gate": {"median_ratio_at_least": GATE, "threads": default_threads},
        "passed": passed,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    batch = "" if BATCH_SIZE == 32 else f"-batch{BATCH_SIZE}"
    path = RESULTS / f"{'quick-' if args.quick else ''}{device.type}{batch}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written: {path.relative_to(ROOT)}")
    return 0 if passed else 1


def table(runs: list[dict]) -> str:
    """A Markdown table, pasted as is into BENCHMARKS.md."""

    def cell(summary: dict, fmt: str) -> str:
        return f"{summary['median']:{fmt}} ({summary['min']:{fmt}}-{summary['max']:{fmt}})"

    lines = [
        "| torch threads | bare loop | engine, no callbacks | engine + worker callbacks | engine / bare |",
        "|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run['threads']} | {cell(run['bare'], ',.0f')} "
            f"| {cell(run['engine_no_callbacks'], ',.0f')} | {cell(run['engine'], ',.0f')} "
            f"| **{cell(run['ratio'], '.3f')}** |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
