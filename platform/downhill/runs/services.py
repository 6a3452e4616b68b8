"""Writes for runs: the lifecycle (one transition function), cancel, progress and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from workers.contract import TRAIN_RUN_TASK, TRAINING_QUEUE

from .models import MetricPoint, Run, RunEvent

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


class QuotaExceeded(Exception):
    """The owner has DOWNHILL_MAX_ACTIVE_RUNS runs queued or running already (answered 429)."""


def run_queue(*, experiment) -> Run:
    """Create a queued run of an experiment and enqueue it by name once the row is committed.
    Raises QuotaExceeded past the owner's limit of queued + running runs."""
    limit = settings.DOWNHILL_MAX_ACTIVE_RUNS
    active = Run.objects.filter(
        experiment__owner_id=experiment.owner_id, status__in=(S.QUEUED, S.RUNNING)
    ).count()
    if active >= limit:
        raise QuotaExceeded(
            f"You have {active} runs queued or running; the limit is {limit}. "
            "Wait for one to finish, or cancel one, then try again."
        )
    config = experiment.config
    run = Run.objects.create(
        experiment=experiment,
        epochs=config["epochs"],
        attempt=1,
    )
    transaction.on_commit(lambda: _enqueue(run.id))
    return run


def _enqueue(run_id: int) -> None:
    from downhill.celery import app

    try:
        app.send_task(
            TRAIN_RUN_TASK,
            args=[run_id],
            queue=TRAINING_QUEUE,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:  # the broker is unreachable: say so on the run, do not leave it queued
        log.exception("could not enqueue run %s", run_id)
        run_transition(
            run_id, S.FAILED, error=f"Could not reach the task broker to start the run: {exc}"
        )


def run_request_cancel(run: Run) -> Run:
    """Cancel a queued run at once; ask a running run's worker to stop (it checks within about
    a second and marks the run cancelled). A running run whose worker has stopped writing
    heartbeats cannot honour that, so it is cancelled here. Finished runs are left alone."""
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
    else:
        Run.objects.filter(pk=run.id, status=S.RUNNING).update(cancel_requested=True)
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
    every step keeps exactly one point."""
    MetricPoint.objects.filter(run_id=run_id, step__gt=step).delete()
    RunEvent.objects.filter(run_id=run_id, step__gt=step).exclude(type="requeued").delete()


def runs_requeue_stale() -> list[int]:
    """Requeue every running run whose heartbeat went stale (its worker is gone) as a new
    attempt, which resumes from its latest checkpoint; past DOWNHILL_MAX_ATTEMPTS it fails.
    Returns the ids of the runs requeued. Safe to run anywhere, any number of times at once:
    each change is one conditional UPDATE."""
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
    if not run_transition(run.id, S.QUEUED, where=where, attempt=run.attempt + 1, lease=""):
        return False
    event = {
        "type": "requeued",
        "step": run.step,
        "epoch": run.epoch,
        "attempt": run.attempt + 1,
        "reason": reason,
    }
    run_events_record(run.id, [event], time.time())
    transaction.on_commit(lambda: _enqueue(run.id))
    log.warning("run %s requeued as attempt %s: %s", run.id, run.attempt + 1, reason)
    return True


def metrics_record(run_id: int, points: Iterable[tuple[str, int, float, float]]) -> int:
    """Write (name, step, value, wall_time) points in batched multi-row INSERTs. A point
    already stored for (run, name, step) is kept, so a retried write cannot duplicate it.

    Plain SQL rather than bulk_create: the ORM spends ~15 us of Python per row holding the
    GIL, which the training thread pays for (~5 % of a batch-32 CPU step; bench/engine)."""
    rows = [(run_id, name, step, value, wall) for name, step, value, wall in points]
    if not rows:
        return 0
    table = connection.ops.quote_name(MetricPoint._meta.db_table)
    per_statement = min(2000, (connection.features.max_query_params or 10_000) // 5)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (run_id, name, step, value, wall_time) VALUES {values} "
                "ON CONFLICT DO NOTHING",
                [value for row in chunk for value in row],
            )
    return len(rows)


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
