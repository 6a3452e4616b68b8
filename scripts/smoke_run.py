"""Smoke test of `make run`: start it as a new user would, upload a dataset (read by the
datasets worker), train one run through the REST API, then press Ctrl-C and check that
everything it started has stopped.

Uses a fresh DOWNHILL_VAR_DIR, so it never touches your own var/. Exit status 0 on success.
Run: `.venv/bin/python scripts/smoke_run.py` (CI runs it on the embedded defaults).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"smoke: timed out waiting for {what}")


def wait_for_status(url: str, auth: dict, statuses: tuple, timeout: float, what: str) -> dict:
    """GET `url` until its `status` is one of `statuses`; returns the body."""

    def body_when_there():
        body = requests.get(url, headers=auth, timeout=5).json()
        return body if body["status"] in statuses else None

    return wait_until(body_when_there, timeout, what)


def descendants(root: int) -> list[int]:
    """The pids of every process below `root` (any session), `root` itself excluded."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    children: dict[int, list[int]] = {}
    for line in table.stdout.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def still_alive(pids: list[int]) -> str:
    """`ps` lines of those of `pids` still running (zombies count as gone); "" when none."""
    if not pids:
        return ""
    listing = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-p", ",".join(map(str, pids))],
        capture_output=True,
        text=True,
    )
    return "\n".join(line for line in listing.stdout.splitlines() if line.split()[1][0] != "Z")


def csv_bytes() -> bytes:
    """A small classification set: two noisy blobs, labels as text."""
    import random

    rng = random.Random(0)
    out = io.StringIO()
    out.write("x1,x2,colour,label\n")
    for i in range(300):
        label = "left" if i % 2 else "right"
        centre = -2.0 if label == "left" else 2.0
        out.write(
            f"{centre + rng.gauss(0, 1):.4f},{rng.gauss(0, 1):.4f},{rng.choice('rgb')},{label}\n"
        )
    return out.getvalue().encode()


def main() -> int:
    port = free_port()
    var_dir = tempfile.mkdtemp(prefix="downhill-smoke-")
    env = {
        **os.environ,
        "PORT": str(port),
        "DOWNHILL_VAR_DIR": var_dir,
        "DOWNHILL_ADMIN_USERNAME": "smoke",
        "DOWNHILL_ADMIN_PASSWORD": "smoke-test-password-1",
        "DOWNHILL_INLINE_INGEST_MB": "0",  # the upload is read by make run's datasets worker
    }
    log_path = Path(var_dir) / "make-run.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_until(
            lambda: (
                (r := requests.get(f"{base}/api/v1/health/", timeout=2)).status_code == 200
                and r.json()
            ),
            120,
            "the health endpoint",
        )
        print("smoke: health", health)
        token = requests.post(
            f"{base}/api/v1/auth/token/",
            json={"username": "smoke", "password": "smoke-test-password-1"},
            timeout=5,
        ).json()["token"]
        auth = {"Authorization": f"Token {token}"}
        dataset = requests.post(
            f"{base}/api/v1/datasets/",
            headers=auth,
            files={"file": ("blobs.csv", csv_bytes())},
            timeout=30,
        ).json()
        assert dataset["status"] == "processing", dataset
        dataset = wait_for_status(
            f"{base}/api/v1/datasets/{dataset['id']}/",
            auth,
            ("ready", "failed"),
            60,
            "the datasets worker to read the upload",
        )
        assert dataset["status"] == "ready" and dataset["task"] == "classification", dataset
        experiment = requests.post(
            f"{base}/api/v1/experiments/",
            headers=auth,
            json={"dataset": dataset["id"], "epochs": 5, "seed": 1},
            timeout=10,
        ).json()
        run_id = experiment["run"]
        run = wait_for_status(
            f"{base}/api/v1/runs/{run_id}/",
            auth,
            ("succeeded", "failed", "cancelled"),
            180,
            "the run to finish",
        )
        assert run["status"] == "succeeded", run
        series = requests.get(
            f"{base}/api/v1/runs/{run_id}/metrics/", headers=auth, timeout=5
        ).json()["series"]
        losses = series["train_loss"]["values"]
        first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
        assert last < first, losses
        print(
            f"smoke: run {run_id} succeeded on {run['device']}; train_loss {first:.3f} -> {last:.3f}"
        )
        login = requests.get(f"{base}/login/", timeout=5)
        assert login.status_code == 200 and "Downhill" in login.text
        css = requests.get(f"{base}/static/dashboard/style.css", timeout=5)
        assert css.status_code == 200, "static files are not served"
    except BaseException:
        print(log_path.read_text()[-6000:])
        raise
    finally:
        started = descendants(proc.pid)  # make run's processes run in sessions of their own
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        interrupted = time.monotonic()
        try:
            proc.wait(timeout=60)
            print(f"smoke: make run returned {time.monotonic() - interrupted:.1f} s after Ctrl-C")
        except subprocess.TimeoutExpired:
            left = still_alive(started)
            print(log_path.read_text()[-6000:])
            for pid in [proc.pid, *started]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise SystemExit(f"smoke: make run did not stop 60 s after Ctrl-C:\n{left}") from None

    # `make` returns as soon as its recipe does; a process's children may take a moment more.
    deadline = time.monotonic() + 20
    while still_alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    with socket.socket() as s:
        port_free = s.connect_ex(("127.0.0.1", port)) != 0
    left = still_alive(started)
    if left or not port_free:
        print(log_path.read_text()[-3000:])
        raise SystemExit(
            f"smoke: processes left 20 s after Ctrl-C (port free: {port_free}):\n{left}"
        )
    print("smoke: Ctrl-C stopped the web server and the workers")
    output = log_path.read_text()
    if "make: ***" in output:  # a clean Ctrl-C is quiet: no "Error 130/143"
        raise SystemExit(f"smoke: make reported an error after Ctrl-C:\n{output[-1500:]}")
    sweeps = output.count("requeue_stale")  # the sweep's INFO lines every 10 s buried the address
    if sweeps > 2:
        raise SystemExit(f"smoke: the periodic sweep logged {sweeps} lines under make run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
