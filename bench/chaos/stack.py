"""`make run` as a user starts it, driven over HTTP: the harness of bench/chaos, bench/load and
the end-to-end test of `make run`'s restarts (tests/scripts/test_run_restarts.py).

A Stack runs `scripts/run.sh` in a fresh DOWNHILL_VAR_DIR (never your own var/) with fast
fault detection, signs up through the API and trains runs on a generated CSV.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "chaos-test-password-1"

# Faults noticed within seconds: heartbeats stale after 5 s, a sweep every 2 s, a resume
# checkpoint at every epoch end.
FAST = {
    "DOWNHILL_HEARTBEAT_TIMEOUT": "5",
    "DOWNHILL_SWEEP_SECONDS": "2",
    "DOWNHILL_CHECKPOINT_SECONDS": "0",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            result = predicate()
            if result:
                return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def descendants(root: int) -> dict[int, str]:
    """{pid: command line} of every process below `root` (any session)."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True)
    children: dict[int, list[tuple[int, str]]] = {}
    for line in table.stdout.splitlines():
        pid, ppid, args = line.split(None, 2)
        children.setdefault(int(ppid), []).append((int(pid), args))
    found, todo = {}, [root]
    while todo:
        for child, args in children.get(todo.pop(), []):
            found[child] = args
            todo.append(child)
    return found


def csv_bytes(rows: int = 400, seed: int = 0) -> bytes:
    """Two noisy blobs, labels as text."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("x1,x2,x3,label\n")
    for i in range(rows):
        label = "left" if i % 2 else "right"
        centre = -1.0 if label == "left" else 1.0
        out.write(
            f"{centre + rng.gauss(0, 1):.4f},{rng.gauss(0, 1):.4f},{rng.gauss(0, 1):.4f},{label}\n"
        )
    return out.getvalue().encode()


class Stack:
    """`make run`'s script with `workers` training workers, on the environment given."""

    def __init__(self, env: dict | None = None, workers: int = 1, embedded: bool = False):
        self.port = free_port()
        self.var_dir = Path(tempfile.mkdtemp(prefix="downhill-chaos-"))
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **FAST,
            "PORT": str(self.port),
            "DOWNHILL_VAR_DIR": str(self.var_dir),
            "DOWNHILL_ADMIN_USERNAME": "admin",
            "DOWNHILL_ADMIN_PASSWORD": PASSWORD,
            "DOWNHILL_TRAINING_WORKERS": str(workers),
            "DOWNHILL_MAX_ACTIVE_RUNS": "1000",
            **(env or {}),
        }
        if embedded:  # SQLite and the filesystem broker in var_dir, whatever this shell says
            for name in (
                "DATABASE_URL",
                "CELERY_BROKER_URL",
                "DOWNHILL_CACHE_URL",
                "DOWNHILL_BROKER_DIR",
            ):
                self.env.pop(name, None)
        self.log_path = self.var_dir / "make-run.log"
        self.proc: subprocess.Popen | None = None
        self.auth: dict = {}

    def start(self, timeout: float = 180) -> Stack:
        self.launch()
        wait_until(self.healthy, timeout, "the health endpoint")
        self.auth = self.token("admin")
        return self

    def launch(self) -> None:
        """Start the script, without waiting for anything."""
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["bash", "scripts/run.sh"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self) -> bool:
        return requests.get(f"{self.base}/api/v1/health/", timeout=5).status_code == 200

    def token(self, username: str) -> dict:
        r = requests.post(
            f"{self.base}/api/v1/auth/token/",
            json={"username": username, "password": PASSWORD},
            timeout=30,
        )
        r.raise_for_status()
        return {"Authorization": f"Token {r.json()['token']}"}

    def get(self, path: str, **params) -> dict:
        r = requests.get(f"{self.base}/api/v1{path}", headers=self.auth, params=params, timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, **kwargs) -> dict:
        r = requests.post(f"{self.base}/api/v1{path}", headers=self.auth, timeout=60, **kwargs)
        r.raise_for_status()
        return r.json()

    def upload(self, rows: int = 400) -> dict:
        dataset = self.post("/datasets/", files={"file": ("blobs.csv", csv_bytes(rows))})
        return wait_until(
            lambda: (d := self.get(f"/datasets/{dataset['id']}/"))["status"] != "processing" and d,
            120,
            "the upload to be read",
        )

    def experiment(self, dataset: int, **config) -> int:
        return self.post("/experiments/", json={"dataset": dataset, **config})["run"]

    def steps(self, run_id: int, name: str = "train_loss") -> list[int]:
        series = self.get(f"/runs/{run_id}/metrics/", name=name, max_points=100_000)["series"]
        return series[name]["steps"]

    def processes(self, marker: str) -> list[int]:
        """Pids of the stack's processes whose command line holds `marker` (not their children)."""
        found = descendants(self.proc.pid)
        return sorted(p for p, args in found.items() if marker in args and "setsid" not in args)

    def tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 60) -> None:
        """Ctrl-C, as in the terminal; then whatever is left is killed."""
        if self.proc is None:
            return
        started = descendants(self.proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            for pid in started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc = None
