"""Writes for runs: the lifecycle (one transition function), cancel, progress and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from workers.contract.events import END_OF_RUN_EVENTS

from ..dispatch import send_run
from .checkpoints import resume_point
from .metric_chunks import chunks_copy, chunks_discard_after, chunks_record, lock_run
from .metric_spans import metric_spans_refresh, metric_spans_refresh_touched
from .models import Run, RunEvent
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
    """Copy the source's points and events up to its checkpoint to `run`: whole metric chunks
    and blocks in the database, the ones the step cuts rewritten (runs.metric_chunks)."""
    step = run.resumed_from_step
    with connection.cursor() as cursor:
        chunks_copy(cursor, source.id, run.id, step)
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
    with transaction.atomic(), connection.cursor() as cursor:
        lock_run(cursor, run_id)
        chunks_discard_after(cursor, run_id, step)
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
    is kept, so a retried write cannot duplicate it. The points are merged into the run's packed
    chunks and the MetricBlocks they fall in recomputed, in one transaction (runs.metric_chunks;
    bench/metrics_write). Returns how many points were given."""
    points = list(points)
    if not points:
        return 0
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        chunks_record(cursor, run_id, points)  # under the run's lock
        metric_spans_refresh_touched(run_id, points)
    return len(points)


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
