"""From a run's POST to its first loss point, read through the API, right after `make run`.

    .venv/bin/python bench/dispatch/run.py [--quick] [--stack embedded|postgres|both]
        [--runs 20] [--database-url postgres://...] [--broker-url redis://...]

Each stack is `make run`'s own script (scripts/run.sh, bench/chaos/stack.py's harness) in a
fresh DOWNHILL_VAR_DIR: embedded (SQLite and the filesystem broker) and postgres (a throwaway
database beside --database-url's, and the Redis --broker-url names: CELERY_BROKER_URL's when
it is a Redis one, else database 14 of the local Redis, away from the 0 a `make run` uses).
A first start uploads a small CSV and stops, as a user who already has data; the measured
start is the second one, from cold processes, as `make run` is started any morning. As soon as the script prints
its ready line, a run is created (POST /experiments/) and its train_loss is read
(GET /runs/{id}/metrics/) every 10 ms until a point shows: that is the first run. Then --runs
runs one after the other, each cancelled once its first point shows, so that the worker is
idle again for the next one. Each run is long (many epochs) so that its first point comes
while it trains, not when it ends.

Gates (issue 16, goal 4): the first run under 1 s; the next ones p50 under 200 ms, on both
stacks. Exit status 1 when one is missed. Results: bench/dispatch/results/<stack>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.chaos.stack import Stack, wait_until  # noqa: E402
from bench.host import host_facts  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_GATE_S = 1.0
P50_GATE_S = 0.2
READY_LINE = "Downhill is ready"
# Long enough (13 steps an epoch on 400 rows at batch 32) that the first point shows mid-run.
CONFIG = {"epochs": 2000, "batch_size": 32, "seed": 1}
ENDED = ("succeeded", "failed", "cancelled")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def wait_ready(stack: Stack, line: str, timeout: float = 300) -> None:
    """Until the script prints `line` (polled every 20 ms)."""
    wait_until(lambda: line in stack.tail(200_000), timeout, f"the line {line!r}", 0.02)


def first_point(stack: Stack, dataset: int) -> dict:
    """Run id, and seconds from sending the POST until: its answer (post_s), the worker's claim
    (claim_s, from the run's started_at), its first train_loss point read (first_s)."""
    sent_at, started = time.time(), time.perf_counter()
    run_id = stack.experiment(dataset, **CONFIG)
    answered = time.perf_counter()
    url = f"{stack.base}/api/v1/runs/{run_id}/metrics/"
    session = requests.Session()
    session.headers.update(stack.auth)
    while time.perf_counter() < started + 60:
        answer = session.get(url, params={"name": "train_loss"}, timeout=30)
        answer.raise_for_status()
        series = answer.json()["series"].get("train_loss")
        if series and series["steps"]:
            first = time.perf_counter() - started
            claimed = datetime.fromisoformat(stack.get(f"/runs/{run_id}/")["started_at"])
            return {"run": run_id, "first_s": first, "post_s": answered - started,
                    "claim_s": claimed.timestamp() - sent_at}  # fmt: skip
        time.sleep(0.01)
    raise TimeoutError(f"run {run_id} showed no loss point within 60 s:\n{stack.tail()}")


def end_run(stack: Stack, run_id: int) -> None:
    """Cancel the run and wait until its worker has let it go (idle for the next one)."""
    with contextlib.suppress(requests.HTTPError):  # 409: it ended already
        stack.post(f"/runs/{run_id}/cancel/")
    wait_until(lambda: stack.get(f"/runs/{run_id}/")["status"] in ENDED, 120, "the cancel", 0.05)


def measure(stack: Stack, runs: int, ready_line: str) -> dict:
    """Start the prepared stack; time the first run, created at its ready line, and `runs` more."""
    started = time.monotonic()
    stack.launch()
    wait_ready(stack, ready_line)
    ready_s = time.monotonic() - started
    stack.auth = stack.token("admin")
    [dataset] = stack.get("/datasets/")["results"]
    first = first_point(stack, dataset["id"])
    end_run(stack, first["run"])
    nexts = []
    for _ in range(runs):
        nexts.append(first_point(stack, dataset["id"]))
        end_run(stack, nexts[-1]["run"])

    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, q) * 1000, 1)

    result = {"ready_s": round(ready_s, 2)}
    for key in ("first", "post", "claim"):
        result[f"first_run_{key}_ms"] = round(first[f"{key}_s"] * 1000, 1)
        values = [n[f"{key}_s"] for n in nexts]
        result[f"next_{key}_p50_ms"], result[f"next_{key}_p95_ms"] = (
            ms(values, 0.5),
            ms(values, 0.95),
        )
    result["next_first_ms"] = [round(n["first_s"] * 1000, 1) for n in nexts]
    return result


def sql(url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE)."""
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


def throwaway_database(url: str) -> str:
    """A new empty database on `url`'s server; its URL."""
    name = f"bench_dispatch_{uuid.uuid4().hex[:8]}"
    sql(url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(url: str, admin_url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_stack(name: str, args) -> dict:
    env, database = None, None
    if name == "postgres":
        database = throwaway_database(args.database_url)
        env = {"DATABASE_URL": database, "CELERY_BROKER_URL": args.broker_url}
    stack = Stack(env=env, embedded=name == "embedded")
    try:
        stack.start()
        stack.upload(rows=400)
        stack.stop()
        stack.log_path.write_text("")  # the measured start's log only
        result = measure(stack, args.runs, args.ready_line)
    except BaseException:
        print(stack.tail(), f"\n(the stack's files are kept in {stack.var_dir})", file=sys.stderr)
        raise
    else:
        stack.stop()
        shutil.rmtree(stack.var_dir, ignore_errors=True)
        return result
    finally:
        stack.stop()
        if database:
            drop_database(database, args.database_url)


def report(results: dict) -> bool:
    """The table; True when every stack passes both gates."""
    print("| stack | ready after | first run | gate | next runs p50 | p95 | gate | "
          "p50: POST answered | claimed |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    passed = True
    for name, r in results.items():
        ok = (
            r["first_run_first_ms"] < FIRST_GATE_S * 1000
            and r["next_first_p50_ms"] < P50_GATE_S * 1000
        )
        passed = passed and ok
        print(
            f"| {name} | {r['ready_s']} s | {r['first_run_first_ms']} ms | < {FIRST_GATE_S * 1000:.0f} ms "
            f"| {r['next_first_p50_ms']} ms | {r['next_first_p95_ms']} ms | < {P50_GATE_S * 1000:.0f} ms "
            f"p50: {'ok' if ok else 'MISSED'} | {r['next_post_p50_ms']} ms | {r['next_claim_p50_ms']} ms |"
        )
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=20, help="runs after the first")
    parser.add_argument("--quick", action="store_true", help="5 runs after the first")
    default_pg = os.environ.get("DATABASE_URL", "")
    parser.add_argument(
        "--database-url",
        default=default_pg
        if "postgres" in default_pg
        else "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server to create the throwaway database on",
    )
    default_redis = os.environ.get("CELERY_BROKER_URL", "")
    parser.add_argument(
        "--broker-url",
        default=default_redis if default_redis.startswith("redis") else "redis://127.0.0.1:6379/14",
    )
    parser.add_argument("--ready-line", default=READY_LINE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 5
    stacks = ["embedded", "postgres"] if args.stack == "both" else [args.stack]
    facts = host_facts()
    results = {name: bench_stack(name, args) for name in stacks}
    passed = report(results)
    RESULTS.mkdir(exist_ok=True)
    for name, result in results.items():
        path = RESULTS / f"{'quick-' if args.quick else ''}{name}.json"
        path.write_text(json.dumps({**facts, "runs": args.runs, **result}, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
