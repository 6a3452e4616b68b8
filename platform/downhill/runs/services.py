"""Writes for runs: the lifecycle (one transition function), cancel, progress and metrics."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from workers.contract.events import END_OF_RUN_EVENTS

from ..dispatch import send_run
from .checkpoints import resume_point
from .metric_spans import metric_spans_refresh, metric_spans_refresh_touched
from .models import BLOCK_STEPS, MetricBlock, MetricPoint, Run, RunEvent
from .quota import QuotaExceeded as QuotaExceeded  # raised by run_queue; callers catch it here
from .quota import run_quota_check

log = logging.getLogger(__name__)
S = Run.Status

# Which statuses each status may be entered from (running -> queued: a lost worker's run is
# requeued as a new attempt).
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    S.QUEUED: (S.RUNNING,),
    S.RUNNING: (S.QUEUED,),
    S.SUCCEEDED: (S.RUNNING,),
    S.FAILED: (S.QUEUED, S.RUNNING),
    S.CANCELLED: (S.QUEUED, S.RUNNING),
}


def run_transition(
    run_id: int,
    to: str,
    *,
    only_from: tuple[str, ...] | None = None,
    where: Q | None = None,
    **fields,
) -> bool:
    """Move a run to `to` if its current status allows it (and is in `only_from`, and the row
    matches `where`, when given); one atomic conditional UPDATE, so two processes racing (a
    cancel and a worker starting, say) cannot both win. Returns whether it happened."""
    now = timezone.now()
    if to == S.RUNNING:
        fields.setdefault(
            "started_at", Coalesce(F("started_at"), Value(now))
        )  # a resumed attempt keeps it
        fields.setdefault("heartbeat_at", now)
    if to in (S.SUCCEEDED, S.FAILED, S.CANCELLED):
        fields.setdefault("finished_at", now)
    sources = [s for s in ALLOWED_FROM[to] if only_from is None or s in only_from]
    rows = Run.objects.filter(pk=run_id, status__in=sources)
    if where is not None:
        rows = rows.filter(where)
    updated = rows.update(status=to, **fields)
    if updated:
        log.info("run %s -> %s", run_id, to)
    return bool(updated)


def run_claim(run_id: int, *, lease: str, device: str, worker: str) -> bool:
    """A worker takes a queued run under `lease`; only a queued run can be claimed, so a
    redelivered message starts nothing. Returns whether it did."""
    return run_transition(run_id, S.RUNNING, device=device, worker=worker, lease=lease)


FINISH_RETRIES = 6  # backoff 1, 2, 4, 8, 16 s: a database away for half a minute


def run_finish(run_id: int, status: str, *, lease: str, **fields) -> bool:
    """The final transition (succeeded, failed, cancelled) by the attempt that holds `lease`,
    retried: a run must not stay `running` because the database blinked as training ended.
    Returns whether it happened (not when the lease went to another attempt)."""
    for attempt in range(FINISH_RETRIES):
        try:
            return run_transition(run_id, status, where=Q(lease=lease), **fields)
        except DatabaseError:
            log.warning(
                "could not record run %s as %s (try %d); retrying", run_id, status, attempt + 1
            )
            connection.close()  # the next query opens a fresh connection
            time.sleep(min(2**attempt, 30))
    log.error("gave up recording run %s as %s", run_id, status)
    return False


def run_hand_back(run_id: int, *, lease: str, reason: str) -> bool:
    """The attempt that holds `lease` puts its run back in the queue (its worker is stopping):
    the next attempt resumes it from its latest checkpoint."""
    run = Run.objects.get(pk=run_id)
    return run_requeue(run, where=Q(lease=lease), reason=reason)


class NotResumable(Exception):
    """The run cannot be resumed (answered 409); the message says why and what to do."""


@transaction.atomic  # the quota's count and the insert: one step (quota.py)
def run_queue(*, experiment, resumed_from: Run | None = None, resumed_from_step=None) -> Run:
    """Create a queued run of an experiment and enqueue it by name once the row is committed.
    Raises QuotaExceeded past the owner's limits (quota.py). With `resumed_from`
    (a cancelled run; see run_resume) the run goes on from that run's checkpoint at
    `resumed_from_step`."""
    run_quota_check(experiment)
    config = experiment.config
    run = Run.objects.create(
        experiment=experiment,
        epochs=config["epochs"],
        attempt=1,
        resumed_from=resumed_from,
        resumed_from_step=resumed_from_step,
    )
    if resumed_from is not None:
        _carry_history(resumed_from, run)
    transaction.on_commit(lambda: send_run(run.id))
    return run


def run_resume(run: Run) -> Run:
    """Go on with a cancelled run: a new run of its experiment that starts from the checkpoint
    the cancel left (at the step where it stopped) and carries the metric points and events up
    to that step, so its curves read as one. The cancelled run stays as it was."""
    if run.status != S.CANCELLED:
        raise NotResumable(
            f"Run {run.id} is {run.status}; only a cancelled run can be resumed. "
            "Use 'Run again' for another run of the same experiment."
        )
    step = resume_point(run.id)
    if step is None:
        raise NotResumable(
            f"Run {run.id} was cancelled before it stored a checkpoint, so there is nothing to "
            "resume from. Use 'Run again' to start it over."
        )
    with transaction.atomic():
        Run.objects.select_for_update().filter(pk=run.id).first()  # one resume at a time
        going_on = run.resumptions.filter(status__in=(S.QUEUED, S.RUNNING)).first()
        if going_on is not None:  # a second click, say
            raise NotResumable(
                f"Run {run.id} is being resumed already, as run {going_on.id}; follow that one."
            )
        return run_queue(experiment=run.experiment, resumed_from=run, resumed_from_step=step)


def _carry_history(source: Run, run: Run) -> None:
    """Copy the source's points and events up to its checkpoint to `run` (one INSERT ... SELECT
    each, in the database), and their blocks: the whole ones as they are, the one the step cuts
    recomputed from the points copied."""
    step = run.resumed_from_step
    cut = step // BLOCK_STEPS  # blocks below it end at or before `step`
    points = connection.ops.quote_name(MetricPoint._meta.db_table)
    blocks = connection.ops.quote_name(MetricBlock._meta.db_table)
    columns = "name, block, n, lo_step, lo_value, hi_step, hi_value, last_step, last_value"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {points} (run_id, name, step, value, wall_time) "
            f"SELECT %s, name, step, value, wall_time FROM {points} "
            "WHERE run_id = %s AND step <= %s",
            [run.id, source.id, step],
        )
        cursor.execute(
            f"INSERT INTO {blocks} (run_id, {columns}) SELECT %s, {columns} FROM {blocks} "
            "WHERE run_id = %s AND block < %s",
            [run.id, source.id, cut],
        )
        if step > cut * BLOCK_STEPS:
            metric_blocks_refresh(cursor, "run_id = %s AND step > %s", [run.id, cut * BLOCK_STEPS])
        metric_spans_refresh(run.id)
    events = source.events.filter(step__lte=step).exclude(type__in=("requeued", *END_OF_RUN_EVENTS))
    RunEvent.objects.bulk_create(
        RunEvent(run=run, step=e.step, epoch=e.epoch, type=e.type, details=e.details,
                 wall_time=e.wall_time)
        for e in events
    )  # fmt: skip
    run_events_record(
        run.id,
        [{"type": "resumed_from", "step": step, "epoch": source.epoch, "run": source.id}],
        time.time(),
    )


class AlreadyFinished(Exception):
    """A cancel asked of a run that has already finished."""


def run_request_cancel(run: Run) -> Run:
    """Cancel a queued run at once; ask a running run's worker to stop (it checks within about
    a second and marks the run cancelled). A running run whose worker has stopped writing
    heartbeats cannot honour that, so it is cancelled here. A finished run is left alone and
    raises AlreadyFinished."""
    timeout = heartbeat_timeout()
    stale = Q(heartbeat_at__lt=timezone.now() - timeout)
    if run_transition(run.id, S.CANCELLED, only_from=(S.QUEUED,)):
        pass
    elif run_transition(
        run.id,
        S.CANCELLED,
        only_from=(S.RUNNING,),
        where=stale,
        error=f"Its worker stopped reporting (no heartbeat for over {timeout.seconds} s), "
        "so the run was cancelled without it.",
    ):
        log.warning("run %s cancelled without its silent worker", run.id)
    elif not Run.objects.filter(pk=run.id, status=S.RUNNING).update(cancel_requested=True):
        run.refresh_from_db()
        raise AlreadyFinished(f"Run {run.id} has already finished ({run.status}).")
    run.refresh_from_db()
    return run


def heartbeat_timeout() -> timedelta:
    """A running run whose worker wrote no heartbeat for this long has lost its worker."""
    return timedelta(seconds=settings.DOWNHILL_HEARTBEAT_TIMEOUT)


def run_progress_update(
    run_id: int, *, lease: str, epoch: int, step: int, steps: int
) -> tuple[bool, bool]:
    """Record progress and the worker's heartbeat, if `lease` still owns the running run.
    Returns (still owned, cancel requested)."""
    owned = Run.objects.filter(pk=run_id, status=S.RUNNING, lease=lease).update(
        epoch=epoch, step=step, steps=steps, heartbeat_at=timezone.now()
    )
    if not owned:
        return False, False
    return True, Run.objects.filter(pk=run_id, cancel_requested=True).exists()


def run_heartbeat(run_id: int, *, lease: str) -> bool:
    """Only the heartbeat (while the data loads, before any progress). Returns still owned."""
    return bool(
        Run.objects.filter(pk=run_id, status=S.RUNNING, lease=lease).update(
            heartbeat_at=timezone.now()
        )
    )


def run_discard_after(run_id: int, step: int) -> None:
    """A resumed attempt restarts after `step`: drop what the lost attempt wrote past it, so
    every step keeps exactly one point. The metric blocks past it go too, and the block that
    `step` ends inside is recomputed from the points it keeps."""
    cut = max(step, 0) // BLOCK_STEPS  # the block of step + 1: the first that loses points
    with transaction.atomic():
        _lock_run_metrics(run_id)
        MetricPoint.objects.filter(run_id=run_id, step__gt=step).delete()
        blocks = MetricBlock.objects.filter(run_id=run_id, block__gte=cut)
        names = list(blocks.filter(block=cut).values_list("name", flat=True))
        blocks.delete()
        if step > cut * BLOCK_STEPS:  # the cut block keeps the points up to `step`
            with connection.cursor() as cursor:
                _blocks_refresh_touched(cursor, run_id, [(name, step) for name in names])
        metric_spans_refresh(run_id, step + 1)
        RunEvent.objects.filter(run_id=run_id, step__gt=step).exclude(type="requeued").delete()
        RunEvent.objects.filter(run_id=run_id, step=step, type__in=END_OF_RUN_EVENTS).delete()


def database_uptime() -> timedelta | None:
    """How long the database server has been up (PostgreSQL); None where unknown (SQLite,
    which lives in the process). A restarted database leaves every heartbeat stale: the sweep
    waits a heartbeat timeout after it is back, or it requeued every live run (bench/chaos)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT now() - pg_postmaster_start_time()")
        return cursor.fetchone()[0]


def runs_requeue_stale() -> list[int]:
    """Requeue every running run whose heartbeat went stale (its worker is gone) as a new
    attempt, which resumes from its latest checkpoint; past DOWNHILL_MAX_ATTEMPTS it fails.
    Returns the ids of the runs requeued. Safe to run anywhere, any number of times at once:
    each change is one conditional UPDATE."""
    uptime = database_uptime()
    if uptime is not None and uptime < heartbeat_timeout():
        return []  # no heartbeat could be written while it was down: give the workers time
    stale_before = timezone.now() - heartbeat_timeout()
    requeued = []
    for run in Run.objects.filter(status=S.RUNNING, heartbeat_at__lt=stale_before):
        still_stale = Q(heartbeat_at__lt=stale_before, attempt=run.attempt)
        lost = f"Its worker stopped reporting at step {run.step} (attempt {run.attempt})"
        if run.cancel_requested:
            run_transition(
                run.id, S.CANCELLED, where=still_stale, error=f"{lost}; cancelled as asked."
            )
        elif run.attempt >= settings.DOWNHILL_MAX_ATTEMPTS:
            run_transition(
                run.id, S.FAILED, where=still_stale,
                error=f"{lost}, and every one of its {run.attempt} attempts lost its worker: something in "
                "this run stops workers (memory?). Try a smaller model or batch.",
            )  # fmt: skip
        elif run_requeue(run, where=still_stale, reason="its worker stopped sending heartbeats"):
            requeued.append(run.id)
    return requeued


def run_requeue(run: Run, *, where: Q, reason: str) -> bool:
    """Put a running run back in the queue as its next attempt (it resumes from its latest
    checkpoint), if it still matches `where`. Returns whether it did."""
    requeued = run_transition(
        run.id, S.QUEUED, where=where, attempt=run.attempt + 1, lease="", sent_at=None
    )
    if not requeued:
        return False
    event = {
        "type": "requeued",
        "step": run.step,
        "epoch": run.epoch,
        "attempt": run.attempt + 1,
        "reason": reason,
    }
    run_events_record(run.id, [event], time.time())
    transaction.on_commit(lambda: send_run(run.id))
    log.warning("run %s requeued as attempt %s: %s", run.id, run.attempt + 1, reason)
    return True


def metrics_record(run_id: int, points: Iterable[tuple[str, int, float, float]]) -> int:
    """Write (name, step, value, wall_time) points. A point already stored for (run, name, step)
    is kept, so a retried write cannot duplicate it. The MetricBlocks the points fall in are
    recomputed in the same transaction.

    On PostgreSQL the batch is COPYed (bench/metrics_write); SQLite takes batched multi-row
    INSERTs. Plain SQL rather than bulk_create: the ORM spends ~15 us of
    Python per row holding the GIL, which the training thread pays for (bench/engine)."""
    points = list(points)
    if not points:
        return 0
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        _lock_run_metrics(run_id)
        if connection.vendor == "postgresql":
            _points_copy(cursor, run_id, points)
        else:
            _points_insert(cursor, run_id, points)
        # The touched blocks are recomputed from the stored points rather than merged with the
        # batch: a point the INSERT skipped (stored before) cannot count twice, and a block is
        # exact whatever happened to it before. A batch of a few seconds of training touches a
        # block or two per series, so this rereads a few hundred points (bench/metrics_read).
        _blocks_refresh_touched(cursor, run_id, points)
        metric_spans_refresh_touched(run_id, points)
    return len(points)


def _points_insert(cursor, run_id: int, points: list[tuple]) -> None:
    """Multi-row INSERTs of up to 2000 rows (SQLite: as many as its parameter cap allows)."""
    rows = [(run_id, name, step, value, wall) for name, step, value, wall in points]
    table = connection.ops.quote_name(MetricPoint._meta.db_table)
    per_statement = min(2000, (connection.features.max_query_params or 10_000) // 5)
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        cursor.execute(
            f"INSERT INTO {table} (run_id, name, step, value, wall_time) VALUES {values} "
            "ON CONFLICT DO NOTHING",
            [value for row in chunk for value in row],
        )


# One per connection, emptied at each commit: the staging table of _points_copy.
_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS metric_stage "
    "(run_id bigint, name varchar(64), step integer, value double precision, "
    "wall_time double precision) ON COMMIT DELETE ROWS"
)


def _points_copy(cursor, run_id: int, points: list[tuple]) -> None:
    """COPY the rows straight into the points table, as fast as PostgreSQL takes them. A batch
    with a point already stored (a retried write) makes that COPY fail as a whole: then, in its
    place, the rows go through the connection's staging table and one INSERT ... SELECT that
    skips the stored points (PostgreSQL only)."""
    names = {name: _copy_text(name) for name in {point[0] for point in points}}
    text = "".join(
        [
            f"{run_id}\t{names[name]}\t{step}\t{value!r}\t{wall!r}\n"
            for name, step, value, wall in points
        ]
    )
    table = connection.ops.quote_name(MetricPoint._meta.db_table)
    columns = "(run_id, name, step, value, wall_time)"
    try:
        with transaction.atomic(), connection.wrap_database_errors:  # a savepoint
            cursor.cursor.copy_expert(f"COPY {table} {columns} FROM STDIN", io.StringIO(text))
        return
    except IntegrityError:
        pass
    cursor.execute(_STAGE)
    cursor.execute("DELETE FROM metric_stage")  # a second batch in one transaction
    cursor.cursor.copy_expert(f"COPY metric_stage {columns} FROM STDIN", io.StringIO(text))
    cursor.execute(
        f"INSERT INTO {table} {columns} SELECT {columns[1:-1]} FROM metric_stage "
        "ON CONFLICT DO NOTHING"
    )


def _copy_text(name: str) -> str:
    """A name as COPY's text format reads it back unchanged."""
    if not any(c in name for c in "\\\t\n\r"):
        return name
    return name.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _lock_run_metrics(run_id: int) -> None:
    """Hold the run's row until the transaction ends, so that two writers of its metrics take
    turns: a block recomputed from the points must see the other's committed points (on
    PostgreSQL; SQLite's write transactions take turns anyway). NO KEY: the points' foreign key
    checks do not wait for it."""
    list(Run.objects.select_for_update(no_key=True).filter(pk=run_id).values_list("pk"))


def _blocks_refresh_touched(cursor, run_id: int, points: list[tuple]) -> None:
    """Recompute the blocks of the run that the (name, step, ...) points fall in; a statement per
    up to 249 runs of consecutive blocks (SQLite's cap of 999 parameters)."""
    spans = _block_spans(points)
    per_statement = min(1000, (connection.features.max_query_params or 10_000) // 4)
    term = "(run_id = %s AND name = %s AND step BETWEEN %s AND %s)"
    for start in range(0, len(spans), per_statement):
        chunk = spans[start : start + per_statement]
        params = [
            value
            for name, first, last in chunk
            for value in (run_id, name, first * BLOCK_STEPS + 1, (last + 1) * BLOCK_STEPS)
        ]
        metric_blocks_refresh(cursor, " OR ".join([term] * len(chunk)), params)


def _block_spans(points: Iterable[tuple]) -> list[tuple[str, int, int]]:
    """(name, first block, last block) of each run of consecutive blocks that the
    (name, step, ...) points fall in; steps below 1 belong to no block."""
    spans: list[tuple[str, int, int]] = []
    for name, block in sorted(
        {(point[0], (point[1] - 1) // BLOCK_STEPS) for point in points if point[1] >= 1}
    ):
        if spans and spans[-1][0] == name and spans[-1][2] == block - 1:
            spans[-1] = (name, spans[-1][1], block)
        else:
            spans.append((name, block, block))
    return spans


# Every (run, series, block) with a point matching {where} gets its MetricBlock recomputed from
# its points, inserted or replaced. Portable SQL (PostgreSQL and SQLite): each extreme is found
# by value, then its step (the earliest on a tie) looked up among the block's points.
_IN_BLOCK = (
    "FROM runs_metricpoint AS p WHERE p.run_id = b.run_id AND p.name = b.name "
    "AND p.step BETWEEN b.first_step AND b.last_step"
)
_BLOCKS_UPSERT = f"""
INSERT INTO runs_metricblock
    (run_id, name, block, n, lo_step, lo_value, hi_step, hi_value, last_step, last_value)
SELECT run_id, name, block, n,
    (SELECT MIN(p.step) {_IN_BLOCK} AND p.value = b.lo_value), lo_value,
    (SELECT MIN(p.step) {_IN_BLOCK} AND p.value = b.hi_value), hi_value,
    last_step, (SELECT p.value {_IN_BLOCK} AND p.step = b.last_step)
FROM (
    SELECT run_id, name, (step - 1) / {BLOCK_STEPS} AS block, COUNT(*) AS n,
        MIN(value) AS lo_value, MAX(value) AS hi_value,
        MIN(step) AS first_step, MAX(step) AS last_step
    FROM runs_metricpoint WHERE step >= 1 AND ({{where}})
    GROUP BY run_id, name, (step - 1) / {BLOCK_STEPS}
) AS b
WHERE true
ON CONFLICT (run_id, name, block) DO UPDATE SET n = excluded.n,
    lo_step = excluded.lo_step, lo_value = excluded.lo_value,
    hi_step = excluded.hi_step, hi_value = excluded.hi_value,
    last_step = excluded.last_step, last_value = excluded.last_value
"""  # "WHERE true": SQLite parses an upsert after INSERT ... SELECT only behind a WHERE


# PostgreSQL: the same in one pass over the points. min/max over [value, step] arrays carry
# the step of each extreme along (the earliest on a tie: [value, -step] for the highest);
# steps are far below 2**53, exact as float8. ~2x the portable form under 4 writers.
_BLOCKS_UPSERT_POSTGRESQL = f"""
INSERT INTO runs_metricblock
    (run_id, name, block, n, lo_step, lo_value, hi_step, hi_value, last_step, last_value)
SELECT run_id, name, block, n, lo[2], lo[1], -hi[2], hi[1], last[1], last[2]
FROM (
    SELECT run_id, name, (step - 1) / {BLOCK_STEPS} AS block, COUNT(*) AS n,
        MIN(ARRAY[value, step]) AS lo, MAX(ARRAY[value, -step]) AS hi,
        MAX(ARRAY[step, value]) AS last
    FROM runs_metricpoint WHERE step >= 1 AND ({{where}})
    GROUP BY run_id, name, (step - 1) / {BLOCK_STEPS}
) AS b
ON CONFLICT (run_id, name, block) DO UPDATE SET n = excluded.n,
    lo_step = excluded.lo_step, lo_value = excluded.lo_value,
    hi_step = excluded.hi_step, hi_value = excluded.hi_value,
    last_step = excluded.last_step, last_value = excluded.last_value
"""


def metric_blocks_refresh(cursor, where: str, params: list) -> None:
    """Recompute, from the points, the MetricBlock of every block with a point matching `where`
    (a condition on runs_metricpoint that matches all the points of each block it touches).
    Migration runs.0004 holds a frozen copy of the portable SQL for its backfill."""
    sql = _BLOCKS_UPSERT_POSTGRESQL if connection.vendor == "postgresql" else _BLOCKS_UPSERT
    cursor.execute(sql.format(where=where), params)


def run_events_record(run_id: int, events: Iterable[dict], wall_time: float) -> None:
    """Store engine events ({"type", "step", "epoch", ...details}) in one INSERT."""
    rows = [
        RunEvent(
            run_id=run_id,
            step=event["step"],
            epoch=event["epoch"],
            type=event["type"],
            details={k: v for k, v in event.items() if k not in ("type", "step", "epoch")},
            wall_time=wall_time,
        )
        for event in events
    ]
    if rows:
        RunEvent.objects.bulk_create(rows)
