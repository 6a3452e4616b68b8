"""Chaos under load: `make run` training many runs while faults strike at random moments.

    .venv/bin/python bench/chaos/run.py --stack embedded [--quick]
    .venv/bin/python bench/chaos/run.py --stack postgres [--quick]

Starts `make run`'s script (bench/chaos/stack.py) with --workers training workers (embedded: 2,
SQLite + the filesystem broker; postgres: 4, on a PostgreSQL and a Redis of its own, started
here, so restarting them disturbs nobody), creates --runs runs, and while they train, every
3-8 s (a random draw, --seed) one fault, each kind once per round in a random order:

- `kill_worker`: SIGKILL to a training worker (one up for 10 s at least), which `make run`
  starts again (its restart limit is lifted here: this storm is no crash loop);
- `beat`: SIGTERM to beat (stopped; `make run` starts it again);
- `redis` (postgres stack): Redis shut down and started again (append-only file kept);
- `postgres` (postgres stack): PostgreSQL stopped immediately, as in a crash, and started again.

Recovery from a fault: seconds until what it broke works again (RECOVERED_WHEN): a killed
worker's place is taken by a new one, beat is up again, and after a Redis or PostgreSQL
restart the health endpoint answers 200 and runs advance again. Then it waits for every run to
end and asserts:

- every run `succeeded`, or `failed` only with its attempts exhausted (its error says so);
- every run's train_loss and lr: steps 1..N once each, N = the plan; val_loss at each epoch end;
- each succeeded run's checkpoints and model on disk, the dataset's file on disk;
- no run `running` or `queued` once the storm and the heartbeat timeout are over.

Prints a Markdown table, writes bench/chaos/results/<stack>.json, exits 1 on a failed assertion.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from host import host_facts  # noqa: E402  (bench/host.py)
from stack import Stack, wait_until  # noqa: E402

RESULTS = HERE / "results"
PROFILES = {
    # stack: (training workers, runs, epochs, storm seconds, end timeout seconds)
    ("embedded", False): (2, 40, 4, 180, 1200),
    ("embedded", True): (2, 4, 3, 20, 150),
    ("postgres", False): (4, 40, 4, 180, 1200),
    ("postgres", True): (4, 8, 4, 40, 150),
}
FAULTS = {
    "embedded": ["kill_worker", "beat"],
    "postgres": ["kill_worker", "beat", "redis", "postgres"],
}


def age_seconds(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "etimes=", "-p", str(pid)], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


class Storm:
    """Injects faults into `stack` and measures how long the platform takes to recover."""

    def __init__(self, stack: Stack, servers, kinds: list[str], rng: random.Random):
        self.stack, self.servers, self.kinds, self.rng = stack, servers, kinds, rng
        self.faults: list[dict] = []
        self.bag: list[str] = []

    def kill_worker(self) -> bool:
        old = [p for p in self.stack.processes("-Q training") if age_seconds(p) >= 10]
        if not old:
            return False
        os.kill(self.rng.choice(old), signal.SIGKILL)
        return True

    def beat(self) -> bool:
        pids = self.stack.processes("workers.app beat")
        if pids:
            os.kill(pids[0], signal.SIGTERM)
        return bool(pids)

    def redis(self) -> bool:
        self.servers.restart_redis()
        return True

    def postgres(self) -> bool:
        self.servers.restart_postgres()
        return True

    def strike(self) -> None:
        if not self.bag:  # each kind once per round, in a random order
            self.bag = self.rng.sample(self.kinds, len(self.kinds))
        kind = self.bag.pop()
        at = time.monotonic()
        if getattr(self, kind)():
            self.faults.append({"kind": kind, "at": at, "recovered_s": None})

    def run(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(self.rng.uniform(3, 8))
            self.strike()


# What each fault broke, so what must hold again for it to count as recovered: `workers`
# (every training worker up), `beat` (beat up), `web` (the health endpoint answers 200: the
# web reaches the database and the broker) and `training` (some run advanced over the last
# 3 s, measured wholly after the fault).
RECOVERED_WHEN = {
    "kill_worker": ("workers", "web"),
    "beat": ("beat", "web"),
    "redis": ("web", "training"),
    "postgres": ("web", "training"),
}


class Watcher(threading.Thread):
    """Polls the platform every second; marks each fault recovered at the first poll after it
    that finds what that fault broke working again (RECOVERED_WHEN). A fault every 3-8 s keeps
    the whole platform from ever being whole at once during the storm (beat's restart backoff
    alone reaches 30 s when it is killed within a minute of each start), so each fault is judged
    by its own part."""

    def __init__(self, stack: Stack, storm: Storm, workers: int):
        super().__init__(daemon=True)
        self.stack, self.storm, self.workers = stack, storm, workers
        self.stop = threading.Event()
        self.history: list[tuple[float, dict[int, int]]] = []

    def training(self, t: float) -> bool:
        runs = self.stack.get("/runs/")["results"]
        now = {r["id"]: r["progress"]["step"] for r in runs}
        self.history = [*self.history[-2:], (t, now)]
        before = self.history[0][1]
        return any(s > before.get(i, s) for i, s in now.items())

    def state(self, t: float) -> dict[str, bool]:
        state = {
            "workers": len(self.stack.processes("-Q training")) == self.workers,
            "beat": bool(self.stack.processes("workers.app beat")),
            "web": False,
            "training": False,
        }
        with contextlib.suppress(Exception):  # the web is what is down: neither answers
            state["web"] = self.stack.healthy()
            state["training"] = self.training(t)
        return state

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            state = self.state(t)
            window_start = self.history[0][0] if self.history else t
            for fault in self.storm.faults:
                # Progress counts only when measured wholly after the fault.
                needs = RECOVERED_WHEN[fault["kind"]]
                after = "training" not in needs or fault["at"] < window_start
                if fault["recovered_s"] is None and after and all(state[k] for k in needs):
                    fault["recovered_s"] = round(t - fault["at"], 1)
            time.sleep(1)


def check_run(stack: Stack, run: dict, epochs: int) -> list[str]:
    """What is wrong with one finished run; [] when nothing."""
    rid, problems = run["id"], []
    if run["status"] == "failed" and "attempt" not in (run.get("error") or ""):
        problems.append(f"run {rid} failed: {run.get('error')}")
    if run["status"] not in ("succeeded", "failed"):
        return [f"run {rid} ended {run['status']}"]
    total = run["progress"]["steps"]
    per_epoch = total // epochs
    expected = {"train_loss": list(range(1, total + 1)), "lr": list(range(1, total + 1))}
    expected["val_loss"] = [per_epoch * e for e in range(1, epochs + 1)]
    if run["status"] == "succeeded":
        for name, steps in expected.items():
            if stack.steps(rid, name) != steps:
                problems.append(f"run {rid} {name}: steps {summarise(stack.steps(rid, name))}")
        folder = stack.var_dir / "media" / "runs" / str(rid)
        for f in ("last.pt", "model.npz"):
            if not (folder / f).exists():
                problems.append(f"run {rid}: {f} lost")
    return problems


def summarise(steps: list[int]) -> str:
    dupes = len(steps) - len(set(steps))
    return f"{len(steps)} points, {dupes} duplicates, last {steps[-1] if steps else None}"


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(statistics.median(values), 2), "max": max(values)}


def create_runs(stack: Stack, runs: int, epochs: int) -> tuple[dict, list[int]]:
    dataset = stack.upload(rows=600)
    ids = [
        stack.experiment(dataset["id"], epochs=epochs, batch_size=8, seed=i, name=f"chaos {i}")
        for i in range(runs)
    ]
    return dataset, ids


def wait_for_the_end(stack: Stack, ids: list[int], timeout: float) -> list[dict]:
    def all_done():
        runs = [stack.get(f"/runs/{i}/") for i in ids]
        return runs if all(r["status"] not in ("queued", "running") for r in runs) else None

    try:
        return wait_until(all_done, timeout, "every run to end", interval=2)
    except TimeoutError:
        return [stack.get(f"/runs/{i}/") for i in ids]


def report(stack_name: str, result: dict) -> None:
    print(f"\n## Chaos, {stack_name}: {result['runs']} runs, {result['workers']} training workers")
    print(f"storm {result['storm_s']} s, all runs ended after {result['total_s']} s\n")
    print("| fault | count | recovered | recovery p50 (s) | recovery max (s) |")
    print("|---|---|---|---|---|")
    for kind, row in result["recovery"].items():
        print(
            f"| {kind} | {row['count']} | {row['n']} | {row.get('p50', '-')} | {row.get('max', '-')} |"
        )
    print(f"\nstatuses: {result['statuses']}; attempts > 1: {result['resumed_runs']}")
    print("problems:", "none" if not result["problems"] else "")
    for p in result["problems"]:
        print(" -", p)


def summarise_faults(faults: list[dict]) -> dict:
    out = {}
    for kind in sorted({f["kind"] for f in faults}):
        mine = [f for f in faults if f["kind"] == kind]
        times = [f["recovered_s"] for f in mine if f["recovered_s"] is not None]
        out[kind] = {"count": len(mine), **percentiles(times)}
    return out


def storm_and_check(stack: Stack, servers, args, profile) -> dict:
    workers, runs, epochs, storm_s, end_s = profile
    started = time.monotonic()
    dataset, ids = create_runs(stack, runs, epochs)
    storm = Storm(stack, servers, FAULTS[args.stack], random.Random(args.seed))
    watcher = Watcher(stack, storm, workers)
    watcher.start()
    storm.run(storm_s)
    finished = wait_for_the_end(stack, ids, end_s)
    watcher.stop.set()
    problems = [p for r in finished for p in check_run(stack, r, epochs)]
    if not any(p.is_file() for p in (stack.var_dir / "media" / "datasets").rglob("*")):
        problems.append(f"dataset {dataset['id']}: its file is lost")
    statuses: dict[str, int] = {}
    for r in finished:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "stack": args.stack, "workers": workers, "runs": runs, "epochs": epochs,
        "storm_s": storm_s, "total_s": round(time.monotonic() - started),
        "faults": storm.faults, "recovery": summarise_faults(storm.faults),
        "statuses": statuses, "resumed_runs": sum(1 for r in finished if r["attempt"] > 1),
        "problems": problems,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", choices=["embedded", "postgres"], default="embedded")
    parser.add_argument("--quick", action="store_true", help="the short version CI runs")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-save", action="store_true", help="leave results/ as it is")
    args = parser.parse_args(argv)
    profile = PROFILES[(args.stack, args.quick)]
    host = host_facts()  # before the benchmark loads the machine
    servers = None
    if args.stack == "postgres":
        from servers import Servers

        servers = Servers().start()
    env = servers.env if servers else {}
    env["DOWNHILL_RESTART_LIMIT"] = "1000"
    stack = Stack(env=env, workers=profile[0], embedded=servers is None)
    try:
        stack.start()
        result = {**storm_and_check(stack, servers, args, profile), "host": host}
    except BaseException:
        print(stack.tail())
        raise
    finally:
        stack.stop()
        if servers:
            servers.stop()
    report(args.stack, result)
    if args.no_save:
        return 1 if result["problems"] else 0
    RESULTS.mkdir(exist_ok=True)
    name = f"{args.stack}{'-quick' if args.quick else ''}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
