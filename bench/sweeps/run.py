"""The platform's overhead between one trial ending and the next being queued.

    .venv/bin/python bench/sweeps/run.py [--quick] [--trials 100] [--method tpe]
        [--database-url postgres://...] [--broker-url redis://...]

On a throwaway SQLite database (or the PostgreSQL database --database-url names, which must be
empty and migratable), a sweep of --trials trials on iris with max_concurrent 1: each trial's
run is ended through runs.services as a worker ends it (claimed, three epochs of val_loss
written, finished), then the run-finish hook (downhill.sweeps.services.trial_run_ended) tells
the study and queues the next trial (its message sent to the broker: the embedded filesystem
broker, or the Redis one --broker-url names). Reported per trial: the whole hook (p50, p95), and inside it the sampling (the study
rebuilt from our rows, ask, suggest) and the trial's creation (config validation, experiment
and run rows). Training is not part of this bench (no worker): see the e2e tests for trials on
a real worker. Each epoch is also reported as the trial's worker reports it
(downhill.sweeps.services.trial_report: the objective recorded and the pruner's decision, --pruner,
ASHA by default): the "decision" row, per epoch, is what a worker waits for at every epoch end.
Gate: hook p50 under 1 s; exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
GATE_S = 1.0


def setup_django(var_dir: str, database_url: str | None, broker_url: str | None) -> None:
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    os.environ["DOWNHILL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "downhill.settings"
    os.environ.setdefault("DOWNHILL_LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "DOWNHILL_MEDIA_ROOT", "DOWNHILL_BROKER_DIR", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if broker_url:
        os.environ["CELERY_BROKER_URL"] = broker_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class Timer:
    """Adds up the time spent in one function (instrumentation of the real function)."""

    def __init__(self, module, name):
        self.total, self.original = 0.0, getattr(module, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start

        setattr(module, name, timed)


def iris_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from sklearn.datasets import load_iris

    iris = load_iris()
    text = io.StringIO()
    text.write("a,b,c,d,species\n")
    for x, t in zip(iris.data, iris.target, strict=True):
        text.write(",".join(map(str, x)) + f",{iris.target_names[t]}\n")
    return SimpleUploadedFile("iris.csv", text.getvalue().encode(), content_type="text/csv")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--method", default="tpe", choices=["tpe", "random", "grid"])
    parser.add_argument("--database-url")
    parser.add_argument("--broker-url", help="a Redis broker (default: the embedded one)")
    parser.add_argument("--pruner", default="asha", choices=["none", "median", "asha"])
    parser.add_argument("--quick", action="store_true", help="20 trials")
    args = parser.parse_args()
    if args.quick:
        args.trials = 20
    var_dir = tempfile.mkdtemp(prefix="bench-sweeps-")
    setup_django(var_dir, args.database_url, args.broker_url)

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from downhill.datasets.services import dataset_create
    from downhill.runs.models import Run
    from downhill.runs.services import metrics_record, run_transition
    from downhill.sweeps import services
    from downhill.sweeps.services import sweep_create, trial_report, trial_run_ended

    settings.DOWNHILL_MAX_ACTIVE_RUNS = 10
    user = get_user_model().objects.create_user("bench", password="x")
    dataset = dataset_create(owner=user, file=iris_upload(), target="species")
    sampling_build = Timer(services.studies, "build")
    sampling_suggest = Timer(services, "suggest")
    creation = Timer(services, "experiment_create")
    sweep = sweep_create(owner=user, data={
        "base": {"dataset": dataset.id, "epochs": 3, "seed": 1},
        "space": {"optimizer": {"type": "categorical", "values": ["sgd", "adam", "rmsprop"]},
                  "learning_rate": {"type": "float", "low": 1e-5, "high": 1, "log": True}},
        "method": args.method, "seed": 0, "max_trials": args.trials, "max_concurrent": 1,
        "pruner": {"type": args.pruner},
    })  # fmt: skip
    hooks, samplings, creations, decisions = [], [], [], []
    for _ in range(args.trials):
        run = Run.objects.get(trial__sweep=sweep, status="queued")
        run_transition(run.id, Run.Status.RUNNING)
        for epoch in (1, 2, 3):  # as the trial's worker writes and reports each epoch
            value = 1.0 / epoch + (run.id * 7919 % 101) * 1e-3
            metrics_record(run.id, [("val_loss", epoch, value, time.time())])
            start = time.perf_counter()
            pruned = trial_report(run.id, epoch, {"val_loss": value})
            decisions.append(time.perf_counter() - start)
            if pruned:
                break
        run_transition(run.id, Run.Status.SUCCEEDED)
        before = (sampling_build.total + sampling_suggest.total, creation.total)
        start = time.perf_counter()
        trial_run_ended(run.id)
        hooks.append(time.perf_counter() - start)
        samplings.append(sampling_build.total + sampling_suggest.total - before[0])
        creations.append(creation.total - before[1])
    sweep.refresh_from_db()
    assert sweep.status == "finished", sweep.status
    result = summarize(args, hooks, samplings, creations, decisions)
    result["pruned"] = sweep.trials.filter(state="pruned").count()
    RESULTS.mkdir(exist_ok=True)
    db = ("postgresql" if args.database_url else "sqlite") + ("-redis" if args.broker_url else "")
    (RESULTS / f"{db}-{args.method}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"| {db} {args.method}, {args.trials} trials | p50 | p95 | total |\n|---|---|---|---|")
    for key in ("hook", "sampling", "creation", "decision"):
        row = result[key]
        print(f"| {key} | {row['p50_ms']} ms | {row['p95_ms']} ms | {row['total_s']} s |")
    print(f"{result['pruned']} of {args.trials} trials pruned ({args.pruner})")
    return 0 if result["hook"]["p50_ms"] < GATE_S * 1000 else 1


def summarize(args, hooks, samplings, creations, decisions) -> dict:
    def stats(values):
        ordered = sorted(values)
        return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
                "total_s": round(sum(ordered), 2)}  # fmt: skip

    return {"trials": args.trials, "method": args.method, "pruner": args.pruner,
            "hook": stats(hooks), "sampling": stats(samplings), "creation": stats(creations),
            "decision": stats(decisions)}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
