"""Reading metrics for the dashboard: a long series served downsampled, and pages that list runs.

    .venv/bin/python bench/metrics_read/run.py [--quick] [--database-url postgres://...]

Measures, on a throwaway database (a fresh SQLite file, or a fresh PostgreSQL database created
next to the one --database-url names and dropped afterwards):

- a run with 1,000,000 `train_loss` points served downsampled to 2,000 points: the selector
  (downhill.runs.selectors.run_metrics_series, which merges the series' 256-step metric blocks)
  and the whole API request (GET /api/v1/runs/{id}/metrics/?name=train_loss&max_points=2000)
  through Django; beside them, ungated, the same read from every point (the path before metric
  blocks) and a 25,000-point series, the longest that is still read from its points;
- metrics_record writing a batch of 2 series x 200 steps, and the share of it that keeps the
  metric blocks; and the blocks of the 1,000,000 points built in one statement (the migration's
  backfill);
- the runs page listing 50 runs (GET /, and sorted by a summary key), the run page and the
  comparison page, server-side through Django's test client, with their SQL query counts;
- with Debian's chromium (skipped when absent): the runs page loaded in a real browser until the
  network is idle, and the 1,000,000-point run's page until its loss curve is drawn;
- the comparison of COMPARED runs of 1,000,000 points each (batch size 1) on the epoch axis:
  the page in chromium until every curve is drawn, its first reads of the runs server-side
  (the wall clock and this process's CPU time), and a zoom's re-read of a tenth of a run
  at finer resolution (GET .../metrics/?x=epoch&since_step=&until_step=) through Django.
  bench/metrics_read/stored.py runs these on a stored database, one checkout beside another.

Each figure is the median of --reps timed repetitions after one untimed warm-up (the first,
cold read is reported beside it). Gates: the downsampled read under 100 ms and each page under
a second; exit status 1 when one is missed. Results go to bench/metrics_read/results/<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from host import host_facts  # noqa: E402  (bench/host.py)

RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = os.environ.get("DOWNHILL_CHROMIUM", "/usr/bin/chromium")
READ_GATE_MS = 100
PAGE_GATE_MS = 1000
MAX_POINTS = 2000
MID_POINTS = 25_000  # selectors.POINTS_READ_MAX: the longest series still read from its points
BATCH_STEPS = 200  # per series and batch: most batches straddle two blocks
COMPARED = 10  # runs on the comparison page measured on the epoch axis
ZOOM_POINTS = 1500  # what the compare page asks for a zoomed range (compare.js ZOOM_POINTS)
COMPARE_POINTS = 1500  # what the compare page asks for a run's first read (compare.js MAX_POINTS)
COMPARE_NAMES = ("train_loss", "lr", "val_loss", "val_accuracy")  # its charts of a classifier


# ---- Set-up ----


def throwaway_postgres(url: str, suffix: str = "") -> tuple[str, callable]:
    """A new database on the server `url` names; returns its URL and a function dropping it
    (`suffix`: a second one of the same process, e.g. MLflow's in bench/metrics_write)."""
    import psycopg2

    parts = urlparse(url)
    name = f"downhill_bench_{os.getpid()}{suffix}"
    admin = urlunparse(parts._replace(path="/postgres"))

    def run(sql: str) -> None:
        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql)
        conn.close()

    run(f"CREATE DATABASE {name}")
    return urlunparse(parts._replace(path=f"/{name}")), lambda: run(f"DROP DATABASE {name}")


def setup_django(var_dir: str, database_url: str | None) -> None:
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    os.environ["DOWNHILL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "downhill.settings"
    os.environ.setdefault("DOWNHILL_LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "DOWNHILL_MEDIA_ROOT", "DOWNHILL_BROKER_DIR"):
        os.environ.pop(name, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_runs(n_points: int, n_listed: int):
    """A user; a run with `n_points` train_loss points (a slow decay, noise, one spike) and one
    with MID_POINTS, both with their metric blocks; and `n_listed` finished runs with summaries,
    on three datasets, for the pages."""
    import random

    from django.contrib.auth import get_user_model

    from downhill.datasets.models import Dataset
    from downhill.experiments.models import Experiment
    from downhill.runs.models import Run

    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    datasets = [
        Dataset.objects.create(
            owner=user, name=name, file=f"datasets/{name}.csv", status="ready", n_rows=150,
            columns=[{"name": "x", "dtype": "numeric"}, {"name": "y", "dtype": "categorical"}],
            target="y", task="classification",
        )
        for name in ("iris", "wine", "digits")
    ]  # fmt: skip
    rng = random.Random(0)
    optimizers = [("sgd", 0.9), ("adam", None), ("rmsprop", 0.0), ("adamw", None)]
    listed = []
    for i in range(n_listed):
        optimizer, momentum = optimizers[i % len(optimizers)]
        config = {
            "dataset": datasets[i % 3].id, "target": "y", "task": "classification",
            "model": {"type": "mlp", "hidden": [64, 64], "activation": "relu", "dropout": 0.0,
                      "batch_norm": False},
            "loss": "cross_entropy", "optimizer": optimizer,
            "learning_rate": rng.choice([0.1, 0.01, 0.001]), "momentum": momentum,
            "nesterov": False, "weight_decay": 0.0, "batch_size": rng.choice([16, 32, 64, "full"]),
            "epochs": 20, "validation_split": 0.2, "seed": i,
            "lr_schedule": {"type": rng.choice(["constant", "cosine"]), "warmup_epochs": 0},
        }  # fmt: skip
        experiment = Experiment.objects.create(
            owner=user, dataset=datasets[i % 3], name=f"bench {i}", config=config
        )
        loss = rng.uniform(0.05, 0.5)
        listed.append(
            Run.objects.create(
                experiment=experiment, status="succeeded", epochs=20, epoch=20, steps=80, step=80,
                summary={"best_val_loss": loss, "best_epoch": 15, "final_train_loss": loss * 0.8,
                         "val_accuracy": 0.9, "best_val_accuracy": 0.93},
            )
        )  # fmt: skip
    big = Run.objects.create(experiment=listed[0].experiment, status="succeeded", epochs=1)
    mid = Run.objects.create(experiment=listed[0].experiment, status="succeeded", epochs=1)
    setup = {"points_written_s": write_points(big, n_points, rng)}
    write_points(mid, MID_POINTS, rng)
    return user, big, mid, listed, setup


def write_points(run, n_points: int, rng) -> float:
    """`n_points` train_loss points (a slow decay, noise, one spike of +5 at 77.7 % of the
    run), packed into the run's chunks with their blocks (runs.metric_chunks) in batches of
    100,000 points. Returns seconds."""
    started = time.perf_counter()
    spike = int(n_points * 0.777)  # a divergence the downsampled curve must still show
    points = [
        ("train_loss", step, 2.0 / (1 + step / 50_000) + rng.random() * 0.1 + (5.0 if step == spike else 0.0), 0.0)
        for step in range(1, n_points + 1)
    ]  # fmt: skip
    write_chunks(run, points)
    seconds = time.perf_counter() - started
    print(f"  wrote {n_points:,} points (and their blocks) in {seconds:.1f} s", flush=True)
    return seconds


def write_chunks(run, points: list[tuple]) -> None:
    from django.db import connection, transaction

    from downhill.runs.metric_chunks import chunks_record
    from downhill.runs.metric_spans import metric_spans_refresh

    for start in range(0, len(points), 100_000):
        with transaction.atomic(), connection.cursor() as cursor:
            chunks_record(cursor, run.id, points[start : start + 100_000])
    metric_spans_refresh(run.id)  # and the spans above the blocks
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE runs_metricchunk")
            cursor.execute("ANALYZE runs_metricblock")
            cursor.execute("ANALYZE runs_metricspan")


def make_compared_runs(user, big, n_points: int, count: int) -> list:
    """`count` runs of batch size 1 (120 training rows: 120 steps an epoch), each holding the
    big run's points scaled by its own factor (written as chunks, with their blocks)."""
    from downhill.experiments.models import Experiment
    from downhill.runs.metric_chunks import series_points
    from downhill.runs.models import Run

    big_points = series_points(big.id, "train_loss")

    started = time.perf_counter()
    runs = []
    epochs = -(-n_points // 120)
    for i in range(count):
        config = {**big.experiment.config, "batch_size": 1, "epochs": epochs, "seed": 100 + i, "test_split": 0.0,
                  "learning_rate": [0.1, 0.03, 0.01, 0.003, 0.001][i % 5]}  # fmt: skip
        experiment = Experiment.objects.create(
            owner=user, dataset=big.experiment.dataset, name=f"compared {i}", config=config
        )
        run = Run.objects.create(
            experiment=experiment, status="succeeded", epochs=epochs, epoch=epochs,
            steps=epochs * 120, step=n_points, summary={"best_val_loss": 0.1 + i / 100},
        )  # fmt: skip
        factor = 1 + i / 10
        steps, values = big_points.steps.tolist(), (big_points.values * factor).tolist()
        write_chunks(run, [("train_loss", s, v, 0.0) for s, v in zip(steps, values, strict=True)])
        runs.append(run)
    print(f"  copied {count} runs of {n_points:,} points in {time.perf_counter() - started:.1f} s")
    return runs


def measure_compare_zoom(user, compared: list, n_points: int, reps: int) -> dict:
    """A zoom into a tenth of a compared run on the epoch axis: its re-read at finer resolution;
    and the compare page's first reads of its runs, server-side."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    names = "&".join(f"name={name}" for name in COMPARE_NAMES)
    reads = [f"/api/v1/runs/{run.id}/metrics/?{names}&max_points={COMPARE_POINTS}&x=epoch"
             for run in compared]  # fmt: skip

    def first_reads():
        for url in reads:
            assert client.get(url).status_code == 200

    since, until = int(n_points * 0.7), int(n_points * 0.8)
    url = (f"/api/v1/runs/{compared[0].id}/metrics/?name=train_loss&x=epoch&max_points={ZOOM_POINTS}"
           f"&since_step={since}&until_step={until}")  # fmt: skip
    body = client.get(url).json()["series"]["train_loss"]
    assert body["steps"][0] > since and body["steps"][-1] <= until and body["x"], "bad zoom read"
    assert max(body["values"]) > 5, "the spike vanished from the zoomed range"

    def zoom():
        assert client.get(url).status_code == 200

    result = {}
    for name, function in (("zoom_reread_epoch_downsample", zoom),
                           (f"compare_page_{len(compared)}_runs_first_reads", first_reads)):  # fmt: skip
        figures = result[name] = {**timed(function, reps), "queries": query_count(function)}
        print(f"  {name:34s} {figures['median_ms']:8.1f} ms (CPU {figures['cpu_median_ms']} ms; "
              f"first {figures['first_ms']} ms, {figures['queries']} queries)", flush=True)  # fmt: skip
    return result


# ---- Measuring ----


def timed(function, reps: int) -> dict:
    """Milliseconds of the first call, then the median of `reps` more after a warm-up; and the
    median CPU time of this process per call (less moved by other processes on a loaded
    machine: for server figures, the work itself)."""
    started = time.perf_counter()
    function()
    first = (time.perf_counter() - started) * 1000
    function()
    values, cpu = [], []
    for _ in range(reps):
        started, cpu_started = time.perf_counter(), time.process_time()
        function()
        values.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return {"first_ms": round(first, 1), "median_ms": round(statistics.median(values), 1),
            "min_ms": round(min(values), 1), "max_ms": round(max(values), 1),
            "cpu_median_ms": round(statistics.median(cpu), 1)}  # fmt: skip


def query_count(function) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)


def measure_server(user, big, n_points: int, listed, reps: int) -> dict:
    from django.test import Client

    from downhill.runs.selectors import run_metrics_series

    client = Client(HTTP_HOST="localhost")  # an allowed host, as a browser on this machine sends
    client.force_login(user)
    series = run_metrics_series(big, ["train_loss"], max_points=MAX_POINTS)["train_loss"]
    assert len(series["steps"]) <= MAX_POINTS and max(series["values"]) > 5, "the spike vanished"
    assert series["steps"][-1] == n_points, "the last point vanished"

    def get(url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            b"".join(response) if response.streaming else response.content

        return call

    compare = ",".join(str(run.id) for run in listed[:5])
    cases = {
        "selector_downsample": lambda: run_metrics_series(big, ["train_loss"], max_points=MAX_POINTS),
        "api_metrics_downsample": get(f"/api/v1/runs/{big.id}/metrics/?name=train_loss&max_points={MAX_POINTS}"),
        "runs_page_50": get("/"),
        "runs_page_50_sorted_by_val_loss": get("/?sort=best_val_loss"),
        "run_page": get(f"/runs/{big.id}/"),
        "compare_page_5": get(f"/runs/compare/?ids={compare}"),
    }  # fmt: skip
    results = {}
    for name, function in cases.items():
        results[name] = {**timed(function, reps), "queries": query_count(function)}
        print(f"  {name:34s} {results[name]['median_ms']:8.1f} ms (first {results[name]['first_ms']} ms, "
              f"{results[name]['queries']} queries)", flush=True)  # fmt: skip
    return results


def measure_other_reads(big, n_points: int, mid, reps: int) -> dict:
    """Ungated: the long series read from every point (what the selector did before metric
    blocks), and the longest series that the selector still reads that way at max_points=2000
    (98 blocks, fewer than 666 buckets; 25,000 points)."""
    from downhill.runs.metric_chunks import series_points
    from downhill.runs.selectors import _downsample_points, run_metrics_series

    buckets = MAX_POINTS // 3
    cases = {
        f"{n_points:,} points -> <= 2,000 read from every point (before)": lambda: (
            _downsample_points(series_points(big.id, "train_loss", walls=False), buckets)
        ),
        f"{MID_POINTS:,} points -> <= 2,000 (read from its points)": lambda: run_metrics_series(
            mid, ["train_loss"], max_points=MAX_POINTS
        ),
    }
    results = {}
    for name, function in cases.items():
        results[name] = {**timed(function, reps), "queries": query_count(function)}
        print(f"  {name:60s} {results[name]['median_ms']:8.1f} ms", flush=True)
    return results


def measure_write(big, reps: int) -> dict:
    """metrics_record of a batch of 2 series x BATCH_STEPS steps (about what a worker writes in
    a second or two) and its commit, each timed call the next batch of one run (the chunks
    merged and the blocks kept in it: runs.metric_chunks)."""
    from downhill.runs.models import Run
    from downhill.runs.services import metrics_record

    run = Run.objects.create(experiment=big.experiment, status="running", epochs=1)
    starts = iter(range(0, 10**9, BATCH_STEPS))

    def write():
        start = next(starts)
        batch = [(name, s) for name in ("train_loss", "lr") for s in range(start + 1, start + BATCH_STEPS + 1)]  # fmt: skip
        metrics_record(run.id, [(name, s, 1.0 / s, 0.0) for name, s in batch])

    results = {"metrics_record_batch": timed(write, reps * 3)}
    print(f"  {'metrics_record_batch':34s} {results['metrics_record_batch']['median_ms']:8.2f} ms")
    return results


def measure_browser(user, big, listed, reps: int, compared: list) -> dict | None:
    """Page loads in Debian's chromium against a threaded server in this process."""
    if not Path(CHROMIUM).exists():
        print(f"  {CHROMIUM} is missing: browser figures skipped", flush=True)
        return None
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.test import Client
    from playwright.sync_api import sync_playwright

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    results = {}
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop; the ORM stays sync
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}]
            )
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            def runs_page():
                page.goto(f"{base}/", wait_until="load")  # the stylesheet and scripts too
                assert page.locator("tr[data-run]").count() == min(50, len(listed))

            def run_page():
                page.goto(f"{base}/runs/{big.id}/", wait_until="domcontentloaded")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('#chart-loss svg path')].some(p => (p.getAttribute('d') || '').length > 1000)"
                )

            ids = ",".join(str(run.id) for run in compared)

            def compare_page():
                page.goto(f"{base}/runs/compare/?ids={ids}", wait_until="domcontentloaded")
                page.wait_for_selector("[data-compare][data-loaded=true]")
                page.wait_for_function(
                    f"() => [...document.querySelectorAll('#chart-train svg path.chart__line:not(.chart__line--raw)')]"
                    f".filter(p => (p.getAttribute('d') || '').length > 1000).length >= {len(compared)}"
                )
                assert page.input_value('[data-control="x-axis"]') == "epoch"

            for name, function in (
                ("runs_page_loaded", runs_page),
                ("run_page_curve_drawn", run_page),
                (f"compare_page_{len(compared)}_runs_epoch_axis_drawn", compare_page),
            ):
                results[name] = timed(function, reps)
                print(
                    f"  {name:34s} {results[name]['median_ms']:8.1f} ms (first {results[name]['first_ms']} ms)",
                    flush=True,
                )
            assert not errors, errors
            browser.close()
    finally:
        server.shutdown()
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    return results


def machine(vendor: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if vendor == "postgresql" else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return {**host_facts(), "database": f"{vendor} {version.split(' on ')[0]}"}


def table(result: dict) -> str:
    rows = ["| measurement | median | first | gate |", "|---|---:|---:|---|"]
    for group in ("server", "browser", "other_reads", "write"):
        for name, figures in (result.get(group) or {}).items():
            if group in ("other_reads", "write"):
                rows.append(
                    f"| {name} | {figures['median_ms']:.2f} ms | {figures['first_ms']:.2f} ms | |"
                )
                continue
            gate = READ_GATE_MS if name.endswith("downsample") else PAGE_GATE_MS
            mark = "✓" if figures["median_ms"] < gate else "✗"
            rows.append(
                f"| {name} | {figures['median_ms']:.1f} ms | {figures['first_ms']:.1f} ms | {mark} < {gate} ms |"
            )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50, help="runs on the runs page")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="100,000 points, 3 repetitions")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to create a throwaway database on"
    )
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.points, args.reps = 100_000, 3

    drop = None
    database_url = None
    if args.database_url:
        database_url, drop = throwaway_postgres(args.database_url)
    try:
        with tempfile.TemporaryDirectory() as var_dir:
            setup_django(var_dir, database_url)
            from django.db import connection

            vendor = connection.vendor
            print(
                f"Metrics read benchmark on {vendor}: {args.points:,} points, {args.runs} runs",
                flush=True,
            )
            user, big, mid, listed, setup = make_runs(args.points, args.runs)
            compared = make_compared_runs(user, big, args.points, COMPARED)
            result = {
                "machine": machine(vendor),
                "points": args.points,
                "max_points": MAX_POINTS,
                "runs_listed": args.runs,
                "reps": args.reps,
                "setup": setup,
                "server": {
                    **measure_server(user, big, args.points, listed, args.reps),
                    **measure_compare_zoom(user, compared, args.points, args.reps),
                },
                "browser": None
                if args.no_browser
                else measure_browser(user, big, listed, args.reps, compared),
                "other_reads": measure_other_reads(big, args.points, mid, args.reps),
                "write": measure_write(big, args.reps),
            }
            connection.close()
    finally:
        if drop:
            drop()

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{'quick-' if args.quick else ''}{vendor}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\n{table(result)}\n\nResults in {path.relative_to(ROOT)}")
    missed = [
        name
        for group in ("server", "browser")
        for name, figures in (result.get(group) or {}).items()
        if figures["median_ms"] >= (READ_GATE_MS if name.endswith("downsample") else PAGE_GATE_MS)
    ]
    if missed:
        print(f"Gate missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
