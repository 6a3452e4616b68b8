"""A distributed run on the worker side: the Celery task supervises torchrun, which starts the
run's ranks (workers/rank.py). Celery's solo pool stays as it is: torchrun is a subprocess in a
session of its own, so no multiprocessing happens inside a Celery child and one signal to its
process group ends every rank on this machine.

Node 0 is the worker whose `train_run` task claimed the run: it holds the claim and the
heartbeat, sends one `train_node` task per further node to the training queue, and hosts the
c10d rendezvous (its address, a free port, the run and attempt as the rendezvous id). Rank 0,
wherever the rendezvous puts it, adopts the claim and alone writes metrics, events,
checkpoints and the outcome. When torchrun ends with the run still `running` under this
attempt's lease, no rank recorded an outcome: a rank died (the attempt is handed back and the
next one resumes from the latest checkpoint, as for a lost worker), or a node never joined the
rendezvous (the run fails, saying so).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from downhill.celery import app
from downhill.runs.models import Run
from workers.contract.tasks import TRAIN_NODE_TASK, TRAINING_QUEUE

from .attempt import RunAttempt

log = logging.getLogger(__name__)
S = Run.Status

# Seconds torchrun's ranks get to end on SIGTERM before the group is killed.
STOP_GRACE_SECONDS = 10
# Seconds the ranks get to end by themselves once there is a reason to stop them: rank 0
# records the outcome (the lease then stops answering) a moment before the ranks exit.
ENDING_SECONDS = 5
# What torchrun prints when the rendezvous closed without every node (its RendezvousTimeoutError).
RENDEZVOUS_TIMEOUT = "RendezvousTimeoutError"


@dataclass(frozen=True)
class Layout:
    """How many machines (nodes) and processes on each train one run."""

    nodes: int = 1
    procs_per_node: int = 1

    @classmethod
    def of(cls, config: dict) -> Layout:
        distributed = config.get("distributed") or {}
        return cls(distributed.get("nodes", 1), distributed.get("procs_per_node", 1))

    @property
    def world(self) -> int:
        return self.nodes * self.procs_per_node

    def describe(self, device: str) -> str:
        """The run's device in words: "cpu", "cpu × 2 ranks", "cuda (...) × 8 ranks on 2 nodes"."""
        if self.world == 1:
            return device
        return f"{device} × {self.world} ranks" + (
            f" on {self.nodes} nodes" if self.nodes > 1 else ""
        )


@dataclass(frozen=True)
class Rendezvous:
    """Where and under which id a run's nodes meet."""

    endpoint: str  # node 0's host:port
    run_id: str  # the run and its attempt: a later attempt never meets an earlier one's nodes


def torchrun_command(
    run_id: int, layout: Layout, rendezvous: Rendezvous, *, host: bool
) -> list[str]:
    """`python -m torch.distributed.run` starting this node's ranks of a run."""
    command = [sys.executable, "-m", "torch.distributed.run",
               "--nproc-per-node", str(layout.procs_per_node), "--max-restarts", "0"]  # fmt: skip
    if layout.nodes == 1:
        command.append("--standalone")
    else:
        join = settings.DOWNHILL_RENDEZVOUS_SECONDS
        command += ["--nnodes", str(layout.nodes), "--rdzv-backend", "c10d",
                    "--rdzv-endpoint", rendezvous.endpoint, "--rdzv-id", rendezvous.run_id,
                    "--rdzv-conf", f"join_timeout={join},is_host={str(host).lower()}",
                    "--local-addr", settings.DOWNHILL_NODE_ADDRESS]  # fmt: skip
    return [*command, "-m", "workers.rank", str(run_id)]


class RankGroup:
    """torchrun and its ranks on this machine, in a process group of their own."""

    def __init__(self, command: list[str], lease: str):
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 (closed in end())
        env = {**os.environ, "DOWNHILL_LEASE": lease, "DOWNHILL_SUPERVISOR_PID": str(os.getpid())}
        self.process = subprocess.Popen(
            command, env=env, stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=settings.BASE_DIR,
        )  # fmt: skip

    def wait(self, seconds: float) -> int | None:
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """SIGTERM to every rank (torchrun passes it on), SIGKILL to what is left after the grace."""
        self._signal(signal.SIGTERM)
        if self.wait(STOP_GRACE_SECONDS) is None:
            self._signal(signal.SIGKILL)
            self.process.wait()

    def end(self) -> str:
        """Kill whatever of the group is left (a rank torchrun did not reap) and return the
        tail of what the ranks printed."""
        self._signal(signal.SIGKILL)
        self.process.wait()
        self.output.seek(0)
        text = self.output.read().decode(errors="replace")
        self.output.close()
        return text[-4000:]

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


def supervise(group: RankGroup, stop_reason: Callable[[], str | None]) -> tuple[int, str | None]:
    """Wait for torchrun, checking `stop_reason` about once a second; a reason stops every
    rank. Returns torchrun's exit status and the reason, if one stopped it."""
    while (status := group.wait(1.0)) is None:
        reason = stop_reason()
        if reason is not None:  # ranks ending anyway (rank 0 recorded the outcome) may go first
            if group.wait(ENDING_SECONDS) is None:
                log.warning("stopping the ranks: %s", reason)
                group.stop()
            return group.process.returncode, reason
    return status, None


def train_distributed(
    attempt: RunAttempt, run: Run, layout: Layout, shutdown: threading.Event | None
) -> None:
    """Node 0: start this machine's ranks (and ask for the other nodes), wait for them, and
    record what no rank could: a rank that died, a node that never came, a stopping worker."""
    rendezvous = Rendezvous(f"{settings.DOWNHILL_NODE_ADDRESS}:{_free_port()}",
                            f"run-{run.id}-attempt-{run.attempt}")  # fmt: skip
    for _node in range(1, layout.nodes):
        app.send_task(TRAIN_NODE_TASK, queue=TRAINING_QUEUE,
                      args=[run.id, attempt.lease, rendezvous.endpoint, rendezvous.run_id])  # fmt: skip
    group = RankGroup(torchrun_command(run.id, layout, rendezvous, host=True), attempt.lease)

    def stop_reason() -> str | None:
        if not attempt.owned:
            return "another attempt owns the run"
        if shutdown is not None and shutdown.is_set():
            return "its worker was stopped"
        return None

    try:
        status, reason = supervise(group, stop_reason)
    finally:
        output = group.end()
    log.info("run %s: torchrun ended with %s; its last words:\n%s", run.id, status, output)
    run.refresh_from_db()
    if run.status != S.RUNNING or run.lease != attempt.lease:  # rank 0 recorded the outcome
        attempt.close()
    elif reason is not None:
        attempt.hand_back(reason)
    elif RENDEZVOUS_TIMEOUT in output:
        attempt.finish(S.FAILED, error=_missing_nodes(layout))
    else:
        _rank_lost(attempt, run, status)


def _missing_nodes(layout: Layout) -> str:
    return (
        f"Not all {layout.nodes} nodes of this run joined its rendezvous within "
        f"{settings.DOWNHILL_RENDEZVOUS_SECONDS} s: each node needs a worker of its own on the "
        f"training queue ({layout.nodes} in all, able to reach {settings.DOWNHILL_NODE_ADDRESS}). "
        "Start more workers, or set distributed.nodes lower."
    )


def _rank_lost(attempt: RunAttempt, run: Run, status: int) -> None:
    """A rank ended without an outcome: the next attempt resumes from the latest checkpoint,
    unless the run was being cancelled or has used up its attempts."""
    lost = f"A process of this run ended unexpectedly (torchrun exit status {status}) at step {run.step}"
    if run.cancel_requested:
        attempt.finish(S.CANCELLED, error=f"{lost}; cancelled as asked.")
    elif run.attempt >= settings.DOWNHILL_MAX_ATTEMPTS:
        attempt.finish(S.FAILED, error=f"{lost}, on each of its {run.attempt} attempts: something in "
                       "this run stops its processes (memory?). Try a smaller model or batch.")  # fmt: skip
    else:
        attempt.hand_back(f"a rank ended unexpectedly (torchrun exit status {status})")


def train_node(run_id: int, lease: str, endpoint: str, rendezvous_id: str) -> None:
    """A further node of a distributed run: this machine's ranks, for as long as the run is
    running under node 0's lease (a cancel, a fault or the end there stops them here)."""
    if not _running(run_id, lease):
        log.info("run %s is no longer running under that attempt; node task skipped", run_id)
        return
    run = Run.objects.select_related("experiment").get(pk=run_id)
    layout = Layout.of(run.experiment.config)
    command = torchrun_command(run_id, layout, Rendezvous(endpoint, rendezvous_id), host=False)
    group = RankGroup(command, lease)
    try:
        status, _ = supervise(
            group, lambda: None if _running(run_id, lease) else "the run ended on its first node"
        )
    finally:
        output = group.end()
    log.info("run %s: this node's torchrun ended with %s:\n%s", run_id, status, output)


def _running(run_id: int, lease: str) -> bool:
    return Run.objects.filter(pk=run_id, status=S.RUNNING, lease=lease).exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]
