"""Running one queued run: the bridge between a Run row and the engine.

The engine knows nothing of Django; DatabaseSink is the callback that streams its metric
points, events and progress into the database and carries cancel requests back. It writes
from a thread of its own, so the training loop never waits on the database.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
import time
import uuid

import numpy as np
import torch
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.db.models import Q

from downhill.runs.checkpoints import resume_checkpoint_path, resume_checkpoints
from downhill.runs.models import Run
from downhill.runs.services import (
    metrics_record,
    run_discard_after,
    run_events_record,
    run_heartbeat,
    run_progress_update,
    run_requeue,
    run_transition,
)
from workers.contract.transforms import OUTPUT_TRANSFORMS

from .engine import Callback, DataError, Diverged, Stop, TrainState, fit, pick_device, prepare
from .engine.export import export_layers, layers_to_npz_dict
from .engine.trainer import describe_device
from .tables import read_table

log = logging.getLogger(__name__)
S = Run.Status


class DatabaseSink(Callback):
    """Buffers metric points and events and writes them in batches, at most every
    `flush_seconds` and at the end, together with progress and the heartbeat. The writes run
    on a background thread; the training thread only appends to lists."""

    def __init__(
        self,
        run_id: int,
        lease: str,
        flush_seconds: float = 1.0,
        shutdown: threading.Event | None = None,
    ):
        self.run_id = run_id
        self.lease = lease
        self.flush_seconds = flush_seconds
        self.shutdown = shutdown
        self.state: TrainState | None = None
        self.lease_lost = False
        self._points: list[tuple[str, int, float, float]] = []
        self._events: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the training thread: cheap appends only ---
    def start(self) -> None:
        """Start the writer: from the claim on, so the heartbeat also goes on while the data
        loads and while the artifacts are stored (both can outlast the heartbeat timeout)."""
        self._thread = threading.Thread(
            target=self._write_loop, name=f"run-{self.run_id}-writer", daemon=True
        )
        self._thread.start()

    def on_train_begin(self, state: TrainState) -> None:
        self.state = state
        self.flush()  # progress totals and heartbeat right away

    def on_steps(self, state: TrainState, points) -> None:
        now = time.time()
        rows = []
        for step, loss, lr in points:
            rows.append(("train_loss", step, loss, now))
            rows.append(("lr", step, lr, now))
        with self._lock:
            self._points.extend(rows)

    def on_batch_size(self, state: TrainState, step: int, batch_size: int) -> None:
        with self._lock:
            self._points.append(("batch_size", step, float(batch_size), time.time()))

    def on_event(self, state: TrainState, event: dict) -> None:
        with self._lock:
            self._events.append(event)

    def on_epoch_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        now = time.time()
        with self._lock:
            self._points.extend((name, state.step, value, now) for name, value in metrics.items())

    def on_train_end(self, state: TrainState) -> None:
        self.flush()  # every point written before the run is marked finished

    def on_checkpoint(self, state: TrainState, checkpoint: dict) -> None:
        """Keep the latest resume checkpoint in storage, named by its step; older ones go once
        the new one is stored, so a crash while writing leaves the previous one. The points up
        to its step are written first: a resumed attempt keeps exactly those."""
        try:
            self.flush()
        except DatabaseError:  # the database is away: keep training, checkpoint next time
            log.warning(
                "run %s: no checkpoint at step %s, the database is unreachable",
                self.run_id,
                state.step,
            )
            return
        if self.lease_lost:  # another attempt owns the run, and its files
            return
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        _save(resume_checkpoint_path(self.run_id, checkpoint["step"]), buffer.getvalue())
        for older in resume_checkpoints(self.run_id)[1:]:
            default_storage.delete(older)

    # --- the writer ---
    def _write_loop(self) -> None:
        try:
            while not self._stop.wait(self.flush_seconds):
                try:
                    self.flush()
                except DatabaseError:  # keep training; the points stay buffered for the next try
                    log.warning(
                        "run %s: metrics write failed; retrying in %.0f s",
                        self.run_id,
                        self.flush_seconds,
                    )
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def close(self) -> None:
        """Stop the writer thread and write what is left (from the calling thread)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.flush()

    def close_quietly(self) -> None:
        """On the way out of a failed run; a database error here must not hide the first."""
        try:
            self.close()
        except DatabaseError:
            log.exception("could not write the last metric points of run %s", self.run_id)

    def flush(self) -> None:
        state = self.state
        if state is None:  # the data is still loading: a heartbeat only
            run_heartbeat(self.run_id, lease=self.lease)
            return
        # The heartbeat first: an attempt that lost its lease (it was presumed dead and the run
        # requeued) must stop, and write nothing more.
        owned, cancel = run_progress_update(
            self.run_id, lease=self.lease, epoch=state.epoch, step=state.step, steps=state.steps
        )
        with self._lock:
            points, self._points = self._points, []
            events, self._events = self._events, []
        if not owned:
            state.request_stop(Stop.HAND_ON, "lease_lost")
            self.lease_lost = True
            return
        try:
            metrics_record(self.run_id, points)
            run_events_record(self.run_id, events, time.time())
        except DatabaseError:
            with self._lock:  # put them back, in front of anything newer
                self._points[:0] = points
                self._events[:0] = events
            raise
        if cancel:
            state.request_stop(Stop.CANCEL)
        elif self.shutdown is not None and self.shutdown.is_set():
            state.request_stop(Stop.HAND_ON, "worker_shutdown")


def load_resume_checkpoint(run_id: int, device) -> dict | None:
    """The newest resume checkpoint that loads (a half-written one is skipped)."""
    for path in resume_checkpoints(run_id):
        try:
            return _load(path, device)
        except Exception:  # noqa: BLE001 (a truncated file: fall back to the one before)
            log.warning("run %s: checkpoint %s does not load; trying an older one", run_id, path)
    return None


def _load(path: str, device) -> dict:
    with default_storage.open(path, "rb") as stored:
        return torch.load(io.BytesIO(stored.read()), map_location=device, weights_only=False)


class CannotResume(RuntimeError):
    """The checkpoint a run continues from is gone or damaged; the message says so."""


def starting_point(run: Run, device) -> dict | None:
    """Where a run starts: its own newest checkpoint (an earlier attempt lost its worker), else
    the checkpoint of the cancelled run it continues, else nothing (the first step)."""
    own = load_resume_checkpoint(run.id, device)
    if own is not None or run.resumed_from_id is None:
        return own
    path = resume_checkpoint_path(run.resumed_from_id, run.resumed_from_step)
    try:
        return _load(path, device)
    except Exception as exc:  # noqa: BLE001 (missing or damaged: the run cannot go on)
        raise CannotResume(
            f"This run continues run {run.resumed_from_id} from its checkpoint at step "
            f"{run.resumed_from_step}, which cannot be read ({exc.__class__.__name__}). "
            f"Start a fresh run of the experiment instead."
        ) from exc


def _save(path: str, content: bytes) -> str:
    if default_storage.exists(path):
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(content))


def save_artifacts(run_id: int, result) -> dict:
    """Checkpoints (plain dicts, torch.save) and the final model exported for NumPy inference."""
    artifacts: dict = {"checkpoints": {}}
    for name, checkpoint in result.checkpoints.items():
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        artifacts["checkpoints"][name] = _save(f"runs/{run_id}/{name}.pt", buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, **layers_to_npz_dict(export_layers(result.model.cpu())))
    artifacts["model"] = _save(f"runs/{run_id}/model.npz", buffer.getvalue())
    return artifacts


def execute_run(run_id: int, *, shutdown: threading.Event | None = None) -> None:
    """Train a queued run to its end. Every outcome lands on the run row; nothing raises.
    A later attempt (its worker was lost) resumes from the run's latest checkpoint.
    `shutdown` set (the worker is stopping) ends the run at its next metrics write."""
    device = pick_device()
    lease = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    claimed = run_transition(
        run_id, S.RUNNING, device=describe_device(device), worker=socket.gethostname(), lease=lease
    )
    if not claimed:
        log.info("run %s is not queued (cancelled, or taken by another worker); skipping", run_id)
        return
    run = Run.objects.select_related("experiment__dataset").get(pk=run_id)
    config = run.experiment.config
    dataset = run.experiment.dataset
    sink = DatabaseSink(run_id, lease, shutdown=shutdown)
    sink.start()
    try:
        resume = starting_point(run, device)
        if resume is not None or run.attempt > 1:  # drop what was written past the checkpoint
            run_discard_after(run_id, resume["step"] if resume else 0)
        data = prepare(read_table(dataset), dataset.columns, config)
        result = fit(
            config, data, [sink], device=device, resume=resume,
            checkpoint_seconds=settings.DOWNHILL_CHECKPOINT_SECONDS,
        )  # fmt: skip
        # Read once: the writer goes on beating while the artifacts are stored, and a cancel or
        # shutdown it notices then comes after the training ended.
        stop = result.state.stop_reason
        if sink.lease_lost:  # another attempt owns the run now
            log.warning("run %s: lease lost; this attempt stops without a word", run_id)
            sink.close_quietly()
            return
        outcome = {"summary": result.summary}
        if stop != "worker_shutdown":
            outcome["artifacts"] = save_artifacts(run_id, result)
            outcome["inference"] = {
                "preprocessing": data.preprocessing,
                "output_transform": OUTPUT_TRANSFORMS[config["loss"]],
                "task": data.task,
                "classes": data.classes,
                "target": config["target"],
            }
    except Diverged as exc:
        sink.close_quietly()  # keep the points up to the divergence: they show it coming
        _finish(run_id, lease, S.FAILED, error=str(exc), step=exc.step)
        return
    except DataError as exc:
        sink.close_quietly()
        _finish(run_id, lease, S.FAILED, error=f"The data cannot be trained as configured: {exc}")
        return
    except CannotResume as exc:
        sink.close_quietly()
        _finish(run_id, lease, S.FAILED, error=str(exc))
        return
    except Exception as exc:
        log.exception("run %s failed", run_id)
        sink.close_quietly()
        _finish(
            run_id,
            lease,
            S.FAILED,
            error=f"The worker hit an internal error ({exc.__class__.__name__}); its log has the details.",
        )
        return
    sink.close_quietly()
    if stop == "worker_shutdown":  # the next worker to start goes on from the last checkpoint
        run.refresh_from_db()
        run_requeue(run, where=Q(lease=lease), reason="its worker was stopped")
    elif stop == "cancelled" and result.summary["epochs_completed"] < config["epochs"]:
        _finish(run_id, lease, S.CANCELLED, **outcome)
    else:  # all epochs, or stopped early on purpose (early stopping, plateau below min_lr)
        _finish(run_id, lease, S.SUCCEEDED, **outcome)


def _finish(run_id: int, lease: str, status: str, **fields) -> None:
    """The final transition, by the attempt that holds the run, retried: a run must not stay
    `running` because the database blinked when training ended."""
    for attempt in range(6):
        try:
            run_transition(run_id, status, where=Q(lease=lease), **fields)
            return
        except DatabaseError:
            log.warning(
                "could not record run %s as %s (attempt %d); retrying", run_id, status, attempt + 1
            )
            connection.close()  # the next query opens a fresh connection
            time.sleep(min(2**attempt, 30))
    log.error("gave up recording run %s as %s", run_id, status)
