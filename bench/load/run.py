"""Load: signed-in users polling live run pages and the runs table while workers stream metrics.

    .venv/bin/python bench/load/run.py [--quick] [--stack postgres|embedded]

Starts `make run`'s script (bench/chaos/stack.py) on a PostgreSQL and a Redis of its own (or
the embedded defaults) with --workers training workers (4), queues as many long runs, and once
they all train, measures the metric write rate alone for --baseline seconds, then with --users
(50) signed-in browser sessions (on loopback only, one thread each, the run owner's) doing what
the dashboard's scripts do: every second the run page's poll (the run, then its train_loss+lr
and validation series since the last step seen), every 3 s the runs table's refresh
(`/?partial=1`), for --seconds (60). A page's first read of its series (every point so far,
downsampled to 2,000) is reported apart from its polls (`since_step`), as "metric load".

Reports p50/p95 per request kind, errors (any 5xx or failed request), and the metric points
written per second under load against the baseline. Gate: the run page's metric poll p95 under
300 ms and no error; exit status 1 otherwise. Results go to bench/load/results/<stack>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "chaos"))
sys.path.insert(0, str(HERE.parent))
from host import host_facts  # noqa: E402  (bench/host.py)
from stack import PASSWORD, Stack, wait_until  # noqa: E402

RESULTS = HERE / "results"
GATE_MS = 300


def sign_in(base: str) -> requests.Session:
    """A browser session signed in through /login/, as the admin who owns the runs."""
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    r = session.post(
        f"{base}/login/",
        data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        timeout=30,
    )
    assert r.ok and "/login/" not in r.url, f"sign-in failed: {r.status_code} {r.url}"
    return session


class User(threading.Thread):
    """One dashboard tab on a live run, and one on the runs table."""

    def __init__(self, base: str, run_id: int, log: list):
        super().__init__(daemon=True)
        self.base, self.run_id, self.log, self.until = base, run_id, log, 0.0
        self.session = sign_in(base)
        self.since = {"train": 0, "val": 0}

    def timed(self, kind: str, url: str, **params) -> dict | None:
        start = time.perf_counter()
        try:
            r = self.session.get(f"{self.base}{url}", params=params, timeout=30)
            ok = r.status_code < 500 and r.ok
        except requests.RequestException:
            r, ok = None, False
        self.log.append((kind, (time.perf_counter() - start) * 1000, ok))
        return r.json() if ok and "json" in r.headers.get("Content-Type", "") else None

    def poll_metrics(self, group: str, names: list[str]) -> None:
        params = {"name": names}
        if self.since[group]:
            params["since_step"] = self.since[group]
        else:
            params["max_points"] = 2000
        # The page's first read (every point so far, downsampled) apart from its polls.
        kind = "metric poll" if self.since[group] else "metric load"
        body = self.timed(kind, f"/api/v1/runs/{self.run_id}/metrics/", **params)
        for series in (body or {}).get("series", {}).values():
            if series["steps"]:
                self.since[group] = max(self.since[group], series["steps"][-1])

    def run(self) -> None:
        tick = 0
        while time.monotonic() < self.until:
            started = time.monotonic()
            self.timed("run detail", f"/api/v1/runs/{self.run_id}/")
            self.poll_metrics("train", ["train_loss", "lr"])
            self.poll_metrics("val", ["val_loss", "val_accuracy", "val_f1"])
            if tick % 3 == 0:
                self.timed("runs table", "/", partial="1")
            tick += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def cpu_seconds(stack: Stack, marker: str) -> float:
    """CPU time (user + system) the stack's processes whose command line holds `marker` have
    used so far: what a request costs the web server, whatever else the machine runs."""
    total = 0
    for pid in stack.processes(marker):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (after the name: 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def steps_written(stack: Stack, ids: list[int]) -> int:
    return sum(stack.get(f"/runs/{i}/")["progress"]["step"] for i in ids)


def write_rate(stack: Stack, ids: list[int], seconds: float) -> float:
    """Training steps (each a train_loss and an lr point) written per second over `seconds`."""
    before, t = steps_written(stack, ids), time.monotonic()
    time.sleep(seconds)
    return (steps_written(stack, ids) - before) / (time.monotonic() - t)


def summarise(log: list) -> dict:
    out = {}
    for kind in sorted({k for k, _, _ in log}):
        times = sorted(ms for k, ms, _ in log if k == kind)
        out[kind] = {
            "requests": len(times),
            "errors": sum(1 for k, _, ok in log if k == kind and not ok),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        }
    return out


def measure(stack: Stack, args) -> dict:
    dataset = stack.upload(rows=2000)
    ids = [
        stack.experiment(dataset["id"], epochs=400, batch_size=4, seed=i, name=f"load {i}")
        for i in range(args.workers)
    ]
    wait_until(
        lambda: all(stack.get(f"/runs/{i}/")["status"] == "running" for i in ids),
        180,
        "every run to train",
    )
    baseline = write_rate(stack, ids, args.baseline)
    log: list = []
    users = [User(stack.base, ids[u % len(ids)], log) for u in range(args.users)]
    until = time.monotonic() + args.seconds
    web, training = cpu_seconds(stack, "gunicorn"), cpu_seconds(stack, "-Q training")
    for u in users:
        u.until = until
        u.start()
    loaded = write_rate(stack, ids, args.seconds - 2)
    for u in users:
        u.join(60)
    web = cpu_seconds(stack, "gunicorn") - web
    training = cpu_seconds(stack, "-Q training") - training
    return {"baseline_steps_per_s": round(baseline, 1), "loaded_steps_per_s": round(loaded, 1),
            "requests": summarise(log), "web_cpu_ms_per_request": round(1000 * web / len(log), 2),
            "web_cpu_s": round(web, 1), "training_cpu_s": round(training, 1)}  # fmt: skip


def report(result: dict) -> None:
    print(f"\n## Load, {result['stack']}: {result['users']} users, {result['workers']} workers")
    print("\n| request | count | errors | p50 (ms) | p95 (ms) |\n|---|---|---|---|---|")
    for kind, row in result["requests"].items():
        print(
            f"| {kind} | {row['requests']} | {row['errors']} | {row['p50_ms']} | {row['p95_ms']} |"
        )
    print(
        f"\nmetric writes: {result['baseline_steps_per_s']} steps/s alone, "
        f"{result['loaded_steps_per_s']} steps/s under load; gate {'met' if result['gate_met'] else 'MISSED'}"
    )
    print(
        f"CPU over the load: web server {result['web_cpu_s']} s "
        f"({result['web_cpu_ms_per_request']} ms a request), training workers "
        f"{result['training_cpu_s']} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", choices=["embedded", "postgres"], default="postgres")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline", type=float, default=20)
    parser.add_argument("--quick", action="store_true", help="10 users, 20 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.seconds, args.baseline = 10, 20, 10
    host = host_facts()  # before the benchmark loads the machine
    servers = None
    if args.stack == "postgres":
        from servers import Servers

        servers = Servers().start()
    stack = Stack(env=servers.env if servers else {}, workers=args.workers, embedded=not servers)
    try:
        stack.start()
        result = {"stack": args.stack, "users": args.users, "workers": args.workers,
                  **measure(stack, args), "host": host}  # fmt: skip
    except BaseException:
        print(stack.tail())
        raise
    finally:
        stack.stop()
        if servers:
            servers.stop()
    poll = result["requests"].get("metric poll", {})
    errors = sum(r["errors"] for r in result["requests"].values())
    result["gate_met"] = bool(poll) and poll["p95_ms"] < GATE_MS and errors == 0
    report(result)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.stack}{'-quick' if args.quick else ''}.json").write_text(
        json.dumps(result, indent=2)
    )
    return 0 if result["gate_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
