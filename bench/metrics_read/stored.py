"""The comparison figures of bench/metrics_read on a stored database, to set one checkout beside
another (a branch beside main) without writing 11 million points for each.

    .venv/bin/python bench/metrics_read/stored.py build DIR [--points N]
    cp -r DIR DIR2   # one copy per checkout: a checkout migrates its copy as it needs
    .venv/bin/python bench/metrics_read/stored.py measure DIR [--root CHECKOUT] [--reps 5]

`build` makes the benchmark's runs (run.make_runs, run.make_compared_runs) in DIR's SQLite file.
`measure` runs the checkout's migrations on it, then run.py's measure_compare_zoom and
measure_browser against the checkout's code (the compare page of the COMPARED runs on the epoch
axis drawn in chromium and its first reads server-side, the zoom re-read, and beside them the
runs page and the million-point run's page), and prints the load average.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path


def bench_module(root: Path):
    """This directory's run.py, its ROOT set to the checkout measured: the same measuring code
    (Django's test client and chromium, which see only URLs and pages) on either side."""
    spec = importlib.util.spec_from_file_location(
        "metrics_read_run", Path(__file__).parent / "run.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT = root  # setup_django puts the checkout's platform/ first on sys.path
    return module


def build(bench, directory: Path, points: int) -> None:
    bench.setup_django(str(directory), None)
    user, big, _mid, listed, _setup = bench.make_runs(points, 50)
    compared = bench.make_compared_runs(user, big, points, bench.COMPARED)
    ids = {"user": user.id, "big": big.id, "points": points,
           "listed": [r.id for r in listed], "compared": [r.id for r in compared]}  # fmt: skip
    (directory / "ids.json").write_text(json.dumps(ids))


def measure(bench, directory: Path, reps: int, *, browser: bool = True) -> None:
    bench.setup_django(str(directory), None)  # migrates: a checkout's new tables are filled
    from django.contrib.auth import get_user_model

    from downhill.runs.models import Run

    ids = json.loads((directory / "ids.json").read_text())
    user = get_user_model().objects.get(pk=ids["user"])
    runs = Run.objects.select_related("experiment", "experiment__dataset").in_bulk()
    listed = [runs[i] for i in ids["listed"]]
    compared = [runs[i] for i in ids["compared"]]
    print(f"{bench.ROOT}: load average {os.getloadavg()}", flush=True)
    result = {
        "root": str(bench.ROOT),
        "load_start": os.getloadavg(),
        **bench.measure_compare_zoom(user, compared, ids["points"], reps),
        **(
            (browser and bench.measure_browser(user, runs[ids["big"]], listed, reps, compared))
            or {}
        ),
        "load_end": os.getloadavg(),
    }
    print(json.dumps(result), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("build", "measure"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    bench = bench_module(args.root.resolve())
    args.directory.mkdir(parents=True, exist_ok=True)
    if args.action == "build":
        build(bench, args.directory.resolve(), args.points)
    else:
        measure(bench, args.directory.resolve(), args.reps, browser=not args.no_browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
