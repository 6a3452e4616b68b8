"""Ingest: a large CSV uploaded through the API and made ready, against pandas.read_csv.

    .venv/bin/python bench/ingest/run.py [--quick] [--mb N] [--rounds N] [--database-url postgres://...] [--csv FILE]

Generates a CSV (bench/ingest/generate.py: numeric, integer and categorical columns and a
text target; 1 GB = 10^9 bytes by default, 100 MB with --quick) in a temporary folder, then
starts what `make run` starts, on a fresh database (a SQLite file there, or a throwaway
PostgreSQL database created next to the one --database-url names and dropped afterwards) and
the embedded broker: gunicorn (2 processes x 4 threads) and a Celery worker on the `datasets`
queue (solo pool). The file is streamed to POST /api/v1/datasets/ over HTTP (the client never
holds it in memory); the dataset comes back `processing` and the dataset is polled until
`ready`. Reported: MB/s end to end, of the upload (until the 201) and of the processing
(from the 201 until `ready`), and the peak resident memory (VmHWM) of the web processes and of
the worker, at rest before the first upload and at the end. Beside it, in a subprocess:
`pandas.read_csv` of the same file (time, MB/s, peak memory). The two alternate, --rounds
rounds (3; 1 with --quick), who goes first switching each round, on one platform (each
round's dataset is deleted after it); a round's ratio is pandas' seconds over Downhill's.
Each round ends with pyarrow's streaming CSV reader (pyarrow.csv.open_csv) over the same
file, for reference: a vectorised reader with bounded memory, as Downhill's, with no gate.

Gates (exit status 1 and a FAIL line naming each one missed): the median ratio at least 1
(Downhill end to end at least as fast as pandas.read_csv); memory bounded whatever the file
size: the web processes peak under 256 MB, the datasets worker under 512 MB. Results go to
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
WEB_MEMORY_GATE_MB = 256  # for any file size
WORKER_MEMORY_GATE_MB = 512
RATIO_GATE = 1.0  # Downhill end to end at least as fast as pandas.read_csv (issue 16)
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


def upload(
    platform: Platform, path: Path, token: str, link_bytes_s: float | None = None
) -> tuple[dict, float]:
    """Stream `path` as multipart field `file`, a block at a time, no faster than
    `link_bytes_s` when given (a network link's rate); returns (body, seconds)."""
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
    sent = 0
    with open(path, "rb") as f:
        while block := f.read(SEND_BLOCK):
            conn.send(block)
            sent += len(block)
            if link_bytes_s:  # hold the link's rate: the next block leaves when it would
                time.sleep(max(0.0, started + sent / link_bytes_s - time.perf_counter()))
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


class Downhill:
    """A platform started once, and the figures of one upload after another on it."""

    def __init__(self, folder: Path, database_url: str | None, link_mbit: float | None = None):
        self.platform = Platform(folder, database_url)
        self.link_bytes_s = link_mbit * 1e6 / 8 if link_mbit else None
        status, body = self.platform.request(
            "POST", "/api/v1/auth/token/",
            body=json.dumps({"username": USERNAME, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        self.token = body["token"]
        self.web, self.worker = self.platform.web_processes(), self.platform.worker.pid
        self.web_at_rest = max(peak_rss(pid) for pid in self.web)
        self.worker_at_rest = peak_rss(self.worker)

    def measure(self, path: Path) -> dict:
        """Upload `path`, wait until it is ready, delete it (its stored copy with it)."""
        web_cpu, worker_cpu = sum(map(cpu_seconds, self.web)), cpu_seconds(self.worker)
        created, upload_seconds = upload(self.platform, path, self.token, self.link_bytes_s)
        dataset, processing_seconds = created, 0.0  # up to DOWNHILL_INLINE_INGEST_MB: inline
        if created["status"] == "processing":
            dataset, processing_seconds = wait_until_read(self.platform, created["id"], self.token)
        if dataset["status"] != "ready":
            raise SystemExit(f"the dataset did not become ready: {dataset}")
        # The polls while it processes cost the web a little CPU too.
        web_cpu = sum(map(cpu_seconds, self.web)) - web_cpu
        worker_cpu = cpu_seconds(self.worker) - worker_cpu
        load = os.getloadavg()[0]
        self.platform.request("DELETE", f"/api/v1/datasets/{dataset['id']}/",
                              headers={"Authorization": f"Token {self.token}"})  # fmt: skip
        size, total = path.stat().st_size, upload_seconds + processing_seconds
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
        }

    def peaks(self) -> dict:
        return {
            "web_peak_rss_mb": round(max(peak_rss(pid) for pid in self.web) / 1e6, 1),
            "web_at_rest_rss_mb": round(self.web_at_rest / 1e6, 1),
            "worker_peak_rss_mb": round(peak_rss(self.worker) / 1e6, 1),
            "worker_at_rest_rss_mb": round(self.worker_at_rest / 1e6, 1),
        }

    def stop(self) -> None:
        self.platform.stop()


PEER = """
import json, sys, time

def peak():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))

import {module}
at_rest = peak()
started, cpu = time.perf_counter(), time.process_time()
{read}
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak": peak(), "at_rest": at_rest,
                  "rows": rows, "version": {module}.__version__}}))
"""
# The peer of the gate, and the streaming reader of the parser the block reader is built on
# (bounded memory, as Downhill's; type inference on): what a vectorised stream costs here.
PANDAS = PEER.format(
    module="pandas", read="frame = pandas.read_csv(sys.argv[1])\nrows = len(frame)"
)
PYARROW = PEER.format(
    module="pyarrow",
    read="import pyarrow.csv\nrows = sum(b.num_rows for b in pyarrow.csv.open_csv(sys.argv[1]))",
)


def measure_peer(path: Path, script: str) -> dict:
    result = subprocess.run(
        [PY, "-c", script, str(path)], capture_output=True, text=True, check=True
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


# ---- Rounds and report ----


def alternate(downhill: Downhill | None, path: Path, rounds: int) -> list[dict]:
    """`rounds` rounds, each timing Downhill end to end and pandas.read_csv on the same file;
    who goes first alternates, so neither always meets the machine's busier moments. Then
    pyarrow's streaming reader, for reference."""
    results = []
    for i in range(rounds):
        sides = ["downhill", "pandas"] if i % 2 == 0 else ["pandas", "downhill"]
        figures = {}
        for side in sides:
            if side == "pandas":
                figures["pandas"] = measure_peer(path, PANDAS)
            elif downhill is not None:
                figures["downhill"] = downhill.measure(path)
        figures["pyarrow_stream"] = measure_peer(path, PYARROW)  # last: not a gate
        if "downhill" in figures:
            figures["ratio"] = round(
                figures["pandas"]["seconds"] / figures["downhill"]["end_to_end_seconds"], 3
            )
        figures["first"] = sides[0]
        results.append(figures)
        print(f"round {i + 1}: " + ", ".join(f"{k} {v}" for k, v in _round_line(figures)))
    return results


def _round_line(figures: dict):
    if "downhill" in figures:
        yield "Downhill s", figures["downhill"]["end_to_end_seconds"]
    yield "pandas s", figures["pandas"]["seconds"]
    if "ratio" in figures:
        yield "ratio", figures["ratio"]


def table(result: dict) -> str:
    lines = [
        f"{result['file_mb']:,.0f} MB CSV, {result['rows']:,} rows ({result['database']}), "
        f"{len(result['rounds'])} rounds, sides alternating; ratio = pandas s / Downhill s",
        "",
        "| round | Downhill end to end s (upload + processing) | MB/s | CPU s web + worker "
        "| `pandas.read_csv` s | MB/s | pandas CPU s | ratio | `pyarrow.csv.open_csv` s "
        "| its CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(result["rounds"], start=1):
        d, p = r.get("downhill"), r["pandas"]
        downhill = (
            f"{d['end_to_end_seconds']} ({d['upload_seconds']} + {d['processing_seconds']}) "
            f"| {d['end_to_end_mb_s']} | {d['web_cpu_seconds']} + {d['worker_cpu_seconds']}"
            if d
            else "| |"
        )
        stream = r.get("pyarrow_stream") or {}
        lines.append(
            f"| {i} ({r['first']} first) | {downhill} | {p['seconds']} | {p['mb_s']} "
            f"| {p['cpu_seconds']} | {r.get('ratio', '')} | {stream.get('seconds', '')} "
            f"| {stream.get('cpu_seconds', '')} |"
        )
    m = result.get("memory") or {}
    p = result["rounds"][-1]["pandas"]
    lines += [
        "",
        f"median ratio **{result['gate']['median_ratio']}** (gate: at least "
        f"{result['gate']['ratio_at_least']}); peak RSS: web {m.get('web_peak_rss_mb')} MB "
        f"(at rest {m.get('web_at_rest_rss_mb')}), worker {m.get('worker_peak_rss_mb')} MB "
        f"(at rest {m.get('worker_at_rest_rss_mb')}), pandas {p['peak_rss_mb']} MB; "
        f"pandas {p['version']}",
    ]
    return "\n".join(lines)


def gate(result: dict, skip_pandas: bool) -> list[str]:
    """What failed, in words; empty when every gate passed."""
    failures, m, g = [], result.get("memory") or {}, result["gate"]
    if m and m["web_peak_rss_mb"] >= WEB_MEMORY_GATE_MB:
        failures.append(f"web peak {m['web_peak_rss_mb']} MB, the bound is {WEB_MEMORY_GATE_MB}")
    if m and m["worker_peak_rss_mb"] >= WORKER_MEMORY_GATE_MB:
        failures.append(
            f"worker peak {m['worker_peak_rss_mb']} MB, the bound is {WORKER_MEMORY_GATE_MB}"
        )
    if not skip_pandas and g["median_ratio"] is not None and g["median_ratio"] < RATIO_GATE:
        failures.append(
            f"Downhill end to end is {g['median_ratio']} of pandas.read_csv's speed "
            f"(median of {len(result['rounds'])} rounds), the gate is {RATIO_GATE}"
        )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=1000, help="file size in MB (10^6 bytes)")
    parser.add_argument("--quick", action="store_true", help="a 100 MB file, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--skip-pandas", action="store_true", help="Downhill alone, one round")
    parser.add_argument("--csv", type=Path, help="read this CSV instead of generating one")
    parser.add_argument(
        "--link-mbit",
        type=float,
        help="send the upload no faster than this many Mbit/s, as over a network (Downhill "
        "alone, one round: how long after its last byte the dataset is ready)",
    )
    args = parser.parse_args()
    megabytes = 100 if args.quick else args.mb
    rounds = 1 if args.quick else args.rounds

    facts = host_facts()
    folder = Path(tempfile.mkdtemp(prefix="downhill-ingest-"))
    drop = downhill = None
    try:
        free = shutil.disk_usage(folder).free / 1e6
        if free < 3 * megabytes + 1000:  # the file, its stored copy, headroom
            raise SystemExit(
                f"{free:,.0f} MB free in {folder}: not enough for a {megabytes} MB run"
            )
        path = args.csv or folder / "ingest.csv"
        if not args.csv:
            started = time.perf_counter()
            generate(path, megabytes)
            print(
                f"generated {path.stat().st_size / 1e6:,.0f} MB in "
                f"{time.perf_counter() - started:.0f} s"
            )
        database_url = None
        if args.database_url:
            database_url, drop = throwaway_postgres(args.database_url)
        vendor = "postgresql" if database_url else "sqlite"
        downhill = Downhill(folder, database_url, args.link_mbit)
        if args.skip_pandas or args.link_mbit:
            measured = [{"downhill": downhill.measure(path), "first": "downhill"}]
        else:
            measured = alternate(downhill, path, rounds)
        memory = downhill.peaks()
        size = path.stat().st_size
    finally:
        if downhill is not None:
            downhill.stop()
        shutil.rmtree(folder, ignore_errors=True)
        if drop:
            drop()

    ratios = sorted(r["ratio"] for r in measured if "ratio" in r)
    result = {
        "benchmark": "ingest",
        "host": facts,
        "database": vendor,
        "file_mb": round(size / 1e6, 1),
        "rows": measured[0]["downhill"]["rows"],
        "gate": {
            "ratio_at_least": RATIO_GATE,
            "median_ratio": ratios[len(ratios) // 2] if ratios else None,
            "web_peak_rss_mb_below": WEB_MEMORY_GATE_MB,
            "worker_peak_rss_mb_below": WORKER_MEMORY_GATE_MB,
        },
        "memory": memory,
        "rounds": measured,
    }
    if args.link_mbit:
        result["link_mbit"] = args.link_mbit
    alone = args.skip_pandas or bool(args.link_mbit)
    failures = gate(result, alone)
    result["gate"]["passed"] = not failures
    print(json.dumps(result, indent=1) if alone else table(result))
    RESULTS.mkdir(exist_ok=True)
    label = f"{size / 1e9:.0f}gb" if size >= 1e9 else f"{size / 1e6:.0f}mb"
    link = f"-link{args.link_mbit:g}mbit" if args.link_mbit else ""
    out = RESULTS / f"{vendor}-{label}{link}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
