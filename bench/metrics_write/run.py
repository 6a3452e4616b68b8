"""Writing metrics into PostgreSQL: metrics_record beside bare COPY (and MLflow, when installed).

    .venv/bin/python bench/metrics_write/run.py [--quick] --database-url postgres://...

On a throwaway PostgreSQL database created next to the one --database-url names (dropped
afterwards), WRITERS processes write at once, each into its own run, ROUNDS x batches of
2 series x 1000 steps (a worker's flush of a few seconds of fast training):

- downhill: runs.services.metrics_record (points merged into their packed chunks, blocks
  recomputed, one transaction);
- copy: bare COPY of the same rows into an indexed row table shaped like the one Downhill had
  before its chunks (runs_metricpoint: an id, the run's foreign key and its index, the unique
  (run, name, step) index), nothing else: the ceiling of a row per point;
- mlflow: MLflow's SqlAlchemyStore.log_batch on its own throwaway database, when mlflow is
  importable (`.venv/bin/pip install mlflow-skinny`, for this benchmark only: it is in
  no extra; SQLAlchemy and Alembic come with optuna).

The sides alternate round by round; each figure is the median over rounds of points/s summed
over the writers. Gates: downhill >= 100k points/s and >= 0.8 of copy (and >= 15x mlflow when
measured). Also printed: bytes per point at rest (pg_total_relation_size: table, indexes and
TOAST, of the chunks and of the blocks) beside the row table's.
Exit status 1 when a gate is missed. Results go to bench/metrics_write/results/postgresql.json.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "metrics_read"))
from host import host_facts  # noqa: E402  (bench/host.py)
from run import setup_django, throwaway_postgres  # noqa: E402  (bench/metrics_read/run.py)

RESULTS = Path(__file__).resolve().parent / "results"
WRITERS = 4
STEPS = 1000  # per series and batch
POINTS_GATE = 100_000
COPY_RATIO_GATE = 0.8
MLFLOW_RATIO_GATE = 15
BYTES_GATE = 20
MLFLOW_MAX_BATCH = 1000  # log_batch refuses more metrics in one call


def batch(batch_no: int) -> list[tuple[str, int, float, float]]:
    first = batch_no * STEPS + 1
    return [
        (name, step, 1.0 / step + offset, 1.7e9 + step)
        for name, offset in (("train_loss", 0.0), ("lr", 0.1))
        for step in range(first, first + STEPS)
    ]


def write_downhill(run_id: int, batches: int) -> None:
    from downhill.runs.services import metrics_record

    for b in range(batches):
        metrics_record(run_id, batch(b))


def write_copy(run_id: int, batches: int) -> None:
    from django.db import connection, transaction

    for b in range(batches):
        with transaction.atomic(), connection.cursor() as cursor:
            text = "".join(f"{run_id}\t{n}\t{s}\t{v!r}\t{w!r}\n" for n, s, v, w in batch(b))
            cursor.cursor.copy_expert(
                f"COPY {PEER_TABLE} (run_id, name, step, value, wall_time) FROM STDIN",
                io.StringIO(text),
            )


def write_mlflow(store_uri_and_run: tuple[str, str], batches: int) -> None:
    from mlflow.entities import Metric
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    uri, run_id = store_uri_and_run
    store = SqlAlchemyStore(uri, tempfile.mkdtemp())
    for b in range(batches):
        metrics = [Metric(n, v, int(w * 1000), s) for n, s, v, w in batch(b)]
        for start in range(0, len(metrics), MLFLOW_MAX_BATCH):  # its cap on one call
            chunk = metrics[start : start + MLFLOW_MAX_BATCH]
            store.log_batch(run_id, metrics=chunk, params=[], tags=[])


PEER_TABLE = "bench_metricpoint"
# runs_metricpoint as migration runs.0001 made it (and runs.0007 dropped it).
PEER_DDL = f"""
CREATE TABLE {PEER_TABLE} (
    id bigserial PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES runs_run (id) DEFERRABLE INITIALLY DEFERRED,
    name varchar(64) NOT NULL, step integer NOT NULL,
    value double precision NOT NULL, wall_time double precision NOT NULL,
    CONSTRAINT bench_point_unique_step UNIQUE (run_id, name, step)
);
CREATE INDEX bench_metricpoint_run_id ON {PEER_TABLE} (run_id);
"""


def create_peer_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(PEER_DDL)


WRITE = {"downhill": write_downhill, "copy": write_copy, "mlflow": write_mlflow}


def _writer(side: str, target, batches: int, ready, go) -> None:
    ready.wait()
    go.wait()
    WRITE[side](target, batches)


def timed_round(side: str, targets: list, batches: int) -> float:
    """Points/s of WRITERS processes writing at once (forked, each with its own connection)."""
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    ready, go = ctx.Barrier(len(targets) + 1), ctx.Barrier(len(targets) + 1)
    procs = [ctx.Process(target=_writer, args=(side, t, batches, ready, go)) for t in targets]
    for proc in procs:
        proc.start()
    ready.wait()
    started = time.perf_counter()
    go.wait()
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a {side} writer failed (exit {proc.exitcode})")
    return len(targets) * batches * 2 * STEPS / (time.perf_counter() - started)


def new_runs(n: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from downhill.datasets.models import Dataset
    from downhill.experiments.models import Experiment
    from downhill.runs.models import Run

    user, _ = get_user_model().objects.get_or_create(username="bench")
    dataset, _ = Dataset.objects.get_or_create(
        owner=user, name="bench", defaults={"file": "datasets/bench.csv", "status": "ready"}
    )
    experiment, _ = Experiment.objects.get_or_create(
        owner=user, dataset=dataset, name="bench", defaults={"config": {}}
    )
    return [Run.objects.create(experiment=experiment, status="running").id for _ in range(n)]


def mlflow_runs(url: str, n: int) -> tuple[list, callable] | None:
    try:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    except ImportError:
        return None
    db_url, drop = throwaway_postgres(url, "_mlflow")
    uri = db_url.replace(
        "postgres://", "postgresql+psycopg2://", 1
    )  # SQLAlchemy 2.1: psycopg 3 by default
    store = SqlAlchemyStore(uri, tempfile.mkdtemp())
    experiment = store.create_experiment("bench")
    runs = [store.create_run(experiment, "bench", 0, [], "bench").info.run_id for _ in range(n)]
    store.engine.dispose()
    return [(uri, run_id) for run_id in runs], drop


def bytes_per_point() -> dict:
    """Bytes at rest per point stored: Downhill's chunks and blocks, and the peer's row table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # dead tuples of the chunks' rewrites do not count
        cursor.execute(
            "SELECT pg_total_relation_size('runs_metricchunk'), "
            "pg_total_relation_size('runs_metricblock'), "
            "(SELECT SUM(n) FROM runs_metricchunk), "
            f"pg_total_relation_size('{PEER_TABLE}'), (SELECT COUNT(*) FROM {PEER_TABLE})"
        )
        chunks, blocks, n, peer, peer_n = cursor.fetchone()
    n = int(n or 0)
    return {
        "points": n,
        "bytes_per_point": round((chunks + blocks) / max(n, 1), 1),
        "of_it_blocks": round(blocks / max(n, 1), 1),
        "peer_points": peer_n,
        "peer_bytes_per_point": round(peer / max(peer_n, 1), 1),
    }


def measure(url: str, rounds: int, batches: int) -> dict:
    sides = {"downhill": None, "copy": None}
    mlflow = mlflow_runs(url, WRITERS * rounds)
    figures: dict[str, list[float]] = {side: [] for side in sides}
    if mlflow:
        figures["mlflow"] = []
    try:
        for r in range(rounds):
            measure_round(r, figures, mlflow, batches)
    finally:
        if mlflow:
            mlflow[1]()
    return {side: statistics.median(values) for side, values in figures.items()}


def measure_round(r: int, figures: dict, mlflow, batches: int) -> None:
    """One round: Downhill and COPY (their order alternating by round), then MLflow."""
    order = ["downhill", "copy"] if r % 2 == 0 else ["copy", "downhill"]
    for side in order + (["mlflow"] if mlflow else []):
        targets = (
            mlflow[0][r * WRITERS : (r + 1) * WRITERS] if side == "mlflow" else new_runs(WRITERS)
        )
        figures[side].append(timed_round(side, targets, batches))
        print(f"  round {r + 1} {side}: {figures[side][-1]:,.0f} points/s", flush=True)


def report(medians: dict, storage: dict) -> list[str]:
    failed = []
    dh, copy = medians["downhill"], medians["copy"]
    print("\n| figure | Downhill | peer | ratio | gate |\n|---|---|---|---|---|")
    print(f"| points/s, {WRITERS} writers | {dh:,.0f} | COPY {copy:,.0f} | {dh / copy:.2f} | "
          f">= {POINTS_GATE:,} and >= {COPY_RATIO_GATE} |")  # fmt: skip
    if dh < POINTS_GATE or dh / copy < COPY_RATIO_GATE:
        failed.append("points/s")
    if "mlflow" in medians:
        ratio = dh / medians["mlflow"]
        print(f"| points/s | {dh:,.0f} | MLflow log_batch {medians['mlflow']:,.0f} | "
              f"{ratio:.1f}x | >= {MLFLOW_RATIO_GATE}x |")  # fmt: skip
        if ratio < MLFLOW_RATIO_GATE:
            failed.append("mlflow")
    else:
        print("| points/s | | MLflow: not installed (.venv/bin/pip install mlflow-skinny) | | |")
    per_point = storage["bytes_per_point"]
    print(f"| bytes per point at rest | {per_point} | row table {storage['peer_bytes_per_point']} | "
          f"{storage['peer_bytes_per_point'] / per_point:.1f}x smaller | <= {BYTES_GATE} |")  # fmt: skip
    if per_point > BYTES_GATE:
        failed.append("bytes per point")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 5 batches")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20, help="per writer and round")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("--database-url (or DATABASE_URL) must name a PostgreSQL server")
    rounds, batches = (2, 5) if args.quick else (args.rounds, args.batches)
    db_url, drop = throwaway_postgres(args.database_url)
    try:
        setup_django(tempfile.mkdtemp(), db_url)
        create_peer_table()
        medians = measure(args.database_url, rounds, batches)
        storage = bytes_per_point()
        from django.db import connections

        connections.close_all()
    finally:
        drop()
    failed = report(medians, storage)
    RESULTS.mkdir(exist_ok=True)
    result = {"host": host_facts(), "writers": WRITERS, "batch": f"2 x {STEPS}", "rounds": rounds,
              "batches_per_writer": batches, "points_per_s": medians, "storage": storage,
              "failed": failed}  # fmt: skip
    (RESULTS / f"{'quick-' if args.quick else ''}postgresql.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
