"""Running one queued run on this worker: the attempt claims it, the engine trains it with the
worker's callbacks, and the outcome lands on the run row. Nothing here raises."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from downhill.runs.models import Run
from downhill.runs.services import run_discard_after
from downhill.sweeps.services import is_trial, trial_run_ended
from workers.contract.transforms import OUTPUT_TRANSFORMS

from .attempt import RunAttempt
from .callbacks import CheckpointStore, MetricsWriter, StopWatch, SweepReporter
from .checkpoints import CannotResume, save_artifacts, starting_point
from .distributed import Layout, train_distributed
from .engine import DataError, Diverged, Stop, fit, pick_device, prepare
from .engine.trainer import describe_device
from .failures import internal_error
from .tables import read_table
from .weights import WeightStore, store_weights

log = logging.getLogger(__name__)
S = Run.Status


def execute_run(run_id: int, *, shutdown: threading.Event | None = None) -> None:
    """Train a queued run to its end. A later attempt (its worker was lost) resumes from the
    run's latest checkpoint. `shutdown` set (the worker is stopping) ends the run at its next
    metrics write, back in the queue."""
    run = Run.objects.select_related("experiment").filter(pk=run_id).first()
    layout = Layout.of(run.experiment.config) if run is not None else Layout()
    attempt = RunAttempt(run_id, device=layout.describe(describe_device(pick_device())))
    if not attempt.claim():
        log.info("run %s is not queued (cancelled, or taken by another worker); skipping", run_id)
        return
    try:
        run.refresh_from_db()
        if layout.world > 1:  # torchrun's ranks train it; this process supervises them
            train_distributed(attempt, run, layout, shutdown)
        else:
            _run_attempt(attempt, shutdown)
    except Exception as exc:  # every failure says why, in words the user can act on
        attempt.finish(S.FAILED, **_failure(run_id, exc))
    _advance_sweep(run_id)


def _advance_sweep(run_id: int) -> None:
    """The run-finish hook: a trial's sweep tells the study and asks for the next trial now
    (beat's periodic task catches up whatever this misses)."""
    try:
        trial_run_ended(run_id)
    except Exception:
        log.exception("run %s: its sweep could not be advanced; beat will", run_id)


def _run_attempt(attempt: RunAttempt, shutdown: threading.Event | None, *, ranks=None,
                 device=None) -> None:  # fmt: skip
    """Train the claimed run and record how it ended (a failure raises, for execute_run).
    `ranks` and `device`: rank 0 of a distributed run (workers/rank.py)."""
    run = Run.objects.select_related("experiment__dataset").get(pk=attempt.run_id)
    writer = MetricsWriter(run.id, first_points=attempt.beat_now)
    attempt.writers.append(writer)
    callbacks = [
        writer,
        StopWatch(attempt, shutdown),
        CheckpointStore(attempt),
        WeightStore(attempt),
    ]
    if is_trial(run.id):
        callbacks.append(SweepReporter(run.id))
    result, data = _train(run, callbacks, ranks=ranks, device=device)
    stop = result.state.stop
    if not attempt.owned:  # another attempt owns the run now
        log.warning("run %s: lease lost; this attempt stops without a word", run.id)
        attempt.close()
    elif stop is Stop.HAND_ON:  # the next worker to start goes on from the last checkpoint
        attempt.hand_back("its worker was stopped")
    else:  # all epochs, stopped early on purpose, or cancelled (it may be resumed)
        epochs = run.experiment.config["epochs"]
        cancelled = stop is Stop.CANCEL and result.summary["epochs_completed"] < epochs
        outcome = _outcome(run, result, data)
        attempt.finish(S.CANCELLED if cancelled else S.SUCCEEDED, **outcome)


def _train(run: Run, callbacks, *, ranks=None, device=None):
    """The data read, the starting point found (what a lost attempt wrote past it dropped),
    and the run trained. Of a distributed run's ranks, only rank 0 writes."""
    device = device or pick_device()
    resume = starting_point(run, device)
    leader = ranks is None or ranks.leader
    if leader and (resume is not None or run.attempt > 1):
        run_discard_after(run.id, resume["step"] if resume else 0)
    config = run.experiment.config
    data = prepare(read_table(run.experiment.dataset), run.experiment.dataset.columns, config)
    result = fit(config, data, callbacks, device=device, resume=resume,
                 checkpoint_seconds=settings.DOWNHILL_CHECKPOINT_SECONDS, ranks=ranks)  # fmt: skip
    return result, data


def _outcome(run: Run, result, data) -> dict:
    config = run.experiment.config
    store_weights(run.id, "final", result.model.state_dict())  # the landscape's origin
    return {
        "summary": result.summary,
        "artifacts": save_artifacts(run.id, result, data.x_train[:2]),
        "inference": {
            "preprocessing": data.preprocessing,
            "output_transform": OUTPUT_TRANSFORMS[config["loss"]],
            "task": data.task,
            "classes": data.classes,
            "target": config["target"],
        },
    }


def _failure(run_id: int, exc: Exception) -> dict:
    """The failed run's fields: the error in words, and the step a divergence happened at."""
    if isinstance(exc, Diverged):  # the points up to it are kept: they show it coming
        return {"error": str(exc), "step": exc.step}
    if isinstance(exc, DataError):
        return {"error": f"The data cannot be trained as configured: {exc}"}
    if isinstance(exc, CannotResume):
        return {"error": str(exc)}
    log.exception("run %s failed", run_id, exc_info=exc)
    return {"error": internal_error(exc)}
