"""Ingest: a large CSV uploaded through the API and made ready, against pandas.read_csv.

    .venv/bin/python bench/ingest/run.py [--quick] [--mb N] [--database-url postgres://...]

Generates a CSV (bench/ingest/generate.py: numeric, integer and categorical columns and a
text target; 1 GB = 10^9 bytes by default, 100 MB with --quick) in a temporary folder, then
starts what `make run` starts, on a fresh database (a SQLite file there, or a throwaway
PostgreSQL database created next to the one --database-url names and dropped afterwards) and
the embedded broker: gunicorn (2 processes x 4 threads) and a Celery worker on the `datasets`
queue (solo pool). The file is streamed to POST /api/v1/datasets/ over HTTP (the client never
holds it in memory); the dataset comes back `processing` and the dataset is polled until
`ready`. Reported: MB/s end to end, of the upload (until the 201) and of the processing
(from the 201 until `ready`), and the peak resident memory (VmHWM) of the web processes and of
the worker, at rest before the upload and at the end. Beside it, in a subprocess:
`pandas.read_csv` of the same file (time, MB/s, peak memory).

Gate: memory bounded whatever the file size: the web and the worker processes each peak under
256 MB (about twice what each takes at rest); exit status 1 otherwise. Results go to
bench/ingest/results/<database>-<size>.json; the temporary folder is removed.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from host import host_facts  # noqa: E402  (bench/host.py)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402  (bench/ingest/generate.py)

RESULTS = Path(__file__).resolve().parent / "results"
PY = sys.executable
USERNAME, PASSWORD = "bench", "bench-ingest-password-1"
MEMORY_GATE_MB = 256  # per process, for any file size
SEND_BLOCK = 1024 * 1024


# ---- Processes ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far: unlike wall time, it does not grow
    when other work on the machine takes the cores."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def throwaway_postgres(url: str):
    """bench/metrics_read's: a new database next to `url`'s; returns its URL and a dropper."""
    path = ROOT / "bench" / "metrics_read" / "run.py"
    spec = importlib.util.spec_from_file_location("metrics_read_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.throwaway_postgres(url)


class Platform:
    """Migrations, the admin user, gunicorn and a `datasets` worker, as scripts/run.sh starts
    them, on a folder of their own."""

    def __init__(self, folder: Path, database_url: str | None):
        self.folder = folder
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DOWNHILL_", "CELERY_"))},
            "DOWNHILL_VAR_DIR": str(folder / "var"),
            "DOWNHILL_ADMIN_USERNAME": USERNAME,
            "DOWNHILL_ADMIN_PASSWORD": PASSWORD,
            "DOWNHILL_LOG_LEVEL": "WARNING",
            "TMPDIR": str(folder),  # Django spools the upload here before storing it
        }
        self.env.pop("DATABASE_URL", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        for command in (["migrate", "--noinput", "-v0"], ["ensure_admin"]):
            subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
        self.log = open(folder / "processes.log", "w")  # noqa: SIM115 (closed in stop)
        self.web = self.worker = None
        try:
            self._start_processes()
        except BaseException:
            self.stop()
            raise

    def _start_processes(self) -> None:
        self.worker = self._start(
            "-m", "celery", "-A", "workers.app", "worker", "-Q", "datasets", "--pool", "solo",
            "--loglevel", "WARNING", "--hostname", f"bench-{os.getpid()}@%h",
        )  # fmt: skip
        self.web = self._start(
            "-m", "gunicorn", "downhill.wsgi:application", "--chdir", "platform",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "4",
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not self._answers():
            if time.monotonic() > deadline or self.web.poll() is not None:
                raise SystemExit(f"the web server did not start:\n{self.logs()}")
            time.sleep(0.3)
        time.sleep(3)  # the worker is up by the time gunicorn answers; let it settle

    def _start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([PY, *args], cwd=ROOT, env=self.env, stdout=self.log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def _answers(self) -> bool:
        try:
            return self.request("GET", "/api/v1/health/")[0] in (200, 503)
        except OSError:
            return False

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    def web_processes(self) -> list[int]:
        return children(self.web.pid)

    def logs(self) -> str:
        self.log.flush()
        return (self.folder / "processes.log").read_text()[-4000:]

    def stop(self) -> None:
        started = [p for p in (self.web, self.worker) if p is not None]
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()


# ---- The measured path ----


def upload(platform: Platform, path: Path, token: str) -> tuple[dict, float]:
    """Stream `path` as multipart field `file`, a block at a time; returns (body, seconds)."""
    boundary = "downhill-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", platform.port, timeout=3600)
    started = time.perf_counter()
    conn.putrequest("POST", "/api/v1/datasets/")
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(path, "rb") as f:
        while block := f.read(SEND_BLOCK):
            conn.send(block)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    seconds = time.perf_counter() - started
    conn.close()
    if response.status != 201:
        raise SystemExit(f"upload answered {response.status}: {body}")
    return body, seconds


def wait_until_read(platform: Platform, dataset_id: int, token: str) -> tuple[dict, float]:
    started = time.perf_counter()
    while True:
        status, dataset = platform.request(
            "GET", f"/api/v1/datasets/{dataset_id}/", headers={"Authorization": f"Token {token}"}
        )
        if dataset.get("status") != "processing":
            return dataset, time.perf_counter() - started
        if platform.worker.poll() is not None:
            raise SystemExit(f"the worker stopped:\n{platform.logs()}")
        time.sleep(0.25)


def measure_platform(path: Path, folder: Path, database_url: str | None) -> dict:
    platform = Platform(folder, database_url)
    try:
        status, body = platform.request(
            "POST", "/api/v1/auth/token/",
            body=json.dumps({"username": USERNAME, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        token = body["token"]
        web, worker = platform.web_processes(), platform.worker.pid
        web_at_rest = max(peak_rss(pid) for pid in web)
        worker_at_rest = peak_rss(worker)
        web_cpu, worker_cpu = sum(map(cpu_seconds, web)), cpu_seconds(worker)

        created, upload_seconds = upload(platform, path, token)
        dataset, processing_seconds = created, 0.0  # at most DOWNHILL_INLINE_INGEST_MB: read inline
        if created["status"] == "processing":
            dataset, processing_seconds = wait_until_read(platform, created["id"], token)
        if dataset["status"] != "ready":
            raise SystemExit(f"the dataset did not become ready: {dataset}")
        web_peak = max(peak_rss(pid) for pid in web)
        worker_peak = peak_rss(worker)
        # The polls while it processes cost the web a little CPU too.
        web_cpu = sum(map(cpu_seconds, web)) - web_cpu
        worker_cpu = cpu_seconds(worker) - worker_cpu
        load = os.getloadavg()[0]
    finally:
        platform.stop()
    size = path.stat().st_size
    total = upload_seconds + processing_seconds
    return {
        "rows": dataset["n_rows"],
        "columns": len(dataset["columns"]),
        "task": dataset["task"],
        "upload_seconds": round(upload_seconds, 2),
        "processing_seconds": round(processing_seconds, 2),
        "end_to_end_seconds": round(total, 2),
        "upload_mb_s": round(size / 1e6 / upload_seconds, 1),
        "processing_mb_s": round(size / 1e6 / processing_seconds, 1)
        if processing_seconds
        else None,
        "end_to_end_mb_s": round(size / 1e6 / total, 1),
        "web_cpu_seconds": round(web_cpu, 2),
        "worker_cpu_seconds": round(worker_cpu, 2),
        "worker_cpu_mb_s": round(size / 1e6 / worker_cpu, 1) if worker_cpu else None,
        "load_average_at_end": round(load, 2),
        "web_peak_rss_mb": round(web_peak / 1e6, 1),
        "web_at_rest_rss_mb": round(web_at_rest / 1e6, 1),
        "worker_peak_rss_mb": round(worker_peak / 1e6, 1),
        "worker_at_rest_rss_mb": round(worker_at_rest / 1e6, 1),
    }


PANDAS = """
import json, sys, time

def peak():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))

import pandas
at_rest = peak()
started, cpu = time.perf_counter(), time.process_time()
frame = pandas.read_csv(sys.argv[1])
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak(), "at_rest": at_rest,
                  "rows": len(frame), "version": pandas.__version__}))
"""


def measure_pandas(path: Path) -> dict:
    result = subprocess.run(
        [PY, "-c", PANDAS, str(path)], capture_output=True, text=True, check=True
    )
    figures = json.loads(result.stdout)
    return {
        "version": figures["version"],
        "rows": figures["rows"],
        "seconds": round(figures["seconds"], 2),
        "mb_s": round(path.stat().st_size / 1e6 / figures["seconds"], 1),
        "cpu_seconds": round(figures["cpu"], 2),
        "cpu_mb_s": round(path.stat().st_size / 1e6 / figures["cpu"], 1),
        "peak_rss_mb": round(figures["peak"] / 1e6, 1),
        "at_rest_rss_mb": round(figures["at_rest"] / 1e6, 1),
    }


# ---- Report ----


def table(result: dict) -> str:
    d, p = result["downhill"], result["pandas"]
    return "\n".join(
        [
            f"{result['file_mb']:,.0f} MB CSV, {d['rows']:,} rows x {d['columns']} columns "
            f"({result['database']})",
            "",
            "| | seconds | MB/s | CPU s (MB per CPU s) | peak RSS (MB) | at rest (MB) |",
            "|---|---:|---:|---:|---:|---:|",
            f"| upload (POST until the 201 `processing`) | {d['upload_seconds']} "
            f"| {d['upload_mb_s']} | web {d['web_cpu_seconds']} "
            f"| web {d['web_peak_rss_mb']} | web {d['web_at_rest_rss_mb']} |",
            f"| processing (201 until `ready`) | {d['processing_seconds']} "
            f"| {d['processing_mb_s']} | worker {d['worker_cpu_seconds']} ({d['worker_cpu_mb_s']}) "
            f"| worker {d['worker_peak_rss_mb']} | worker {d['worker_at_rest_rss_mb']} |",
            f"| end to end | {d['end_to_end_seconds']} | **{d['end_to_end_mb_s']}** | | | |",
            f"| `pandas.read_csv` {p['version']} | {p['seconds']} | {p['mb_s']} "
            f"| {p['cpu_seconds']} ({p['cpu_mb_s']}) | {p['peak_rss_mb']} | {p['at_rest_rss_mb']} |",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=1000, help="file size in MB (10^6 bytes)")
    parser.add_argument("--quick", action="store_true", help="a 100 MB file")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    megabytes = 100 if args.quick else args.mb

    facts = host_facts()
    folder = Path(tempfile.mkdtemp(prefix="downhill-ingest-"))
    drop = None
    try:
        free = shutil.disk_usage(folder).free / 1e6
        if free < 3 * megabytes + 1000:  # the file, its stored copy, headroom
            raise SystemExit(
                f"{free:,.0f} MB free in {folder}: not enough for a {megabytes} MB run"
            )
        path = folder / "ingest.csv"
        started = time.perf_counter()
        generate(path, megabytes)
        print(
            f"generated {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - started:.0f} s"
        )
        database_url = None
        if args.database_url:
            database_url, drop = throwaway_postgres(args.database_url)
        vendor = "postgresql" if database_url else "sqlite"
        downhill = measure_platform(path, folder, database_url)
        pandas = None if args.skip_pandas else measure_pandas(path)
        size = path.stat().st_size
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if drop:
            drop()

    bound = MEMORY_GATE_MB
    peaks = {"web": downhill["web_peak_rss_mb"], "worker": downhill["worker_peak_rss_mb"]}
    result = {
        "benchmark": "ingest",
        "host": facts,
        "database": vendor,
        "file_mb": round(size / 1e6, 1),
        "gate": {"peak_rss_mb_below": bound, "passed": max(peaks.values()) < bound},
        "downhill": downhill,
        "pandas": pandas,
    }
    if pandas:
        print(table(result))
    else:
        print(json.dumps(result, indent=1))
    RESULTS.mkdir(exist_ok=True)
    label = f"{size / 1e9:.0f}gb" if size >= 1e9 else f"{size / 1e6:.0f}mb"
    out = RESULTS / f"{vendor}-{label}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    if not result["gate"]["passed"]:
        print(f"FAIL: peak memory {peaks} MB, the bound is {bound} MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
