"""One rank of a distributed run: `python -m workers.rank RUN_ID`, started by torchrun
(workers/distributed.py) with the claim's lease in DOWNHILL_LEASE.

Every rank reads the data and the latest checkpoint and trains its share of each global batch
(workers/engine/distributed.py). Rank 0 adopts the claim and trains with the worker's callbacks:
it alone writes metrics, events, checkpoints, artifacts and the outcome. The others write
nothing. A rank whose supervisor (the Celery worker) is gone kills its process group, so no
rank outlives the worker that started it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from workers import app  # noqa: F401  (Django set up, before any model is imported)

# isort: split
from downhill.runs.models import Run

from .attempt import RunAttempt
from .checkpoints import CannotResume
from .engine import DataError, Diverged
from .engine.distributed import join_from_environment, leave
from .engine.trainer import describe_device
from .runner import _failure, _run_attempt, _train

log = logging.getLogger(__name__)

# What rank 0 records as the run's failure: the same on every rank (a divergence, the data, a
# missing checkpoint). Anything else (a lost peer, a bug) ends the process with an error, and
# the supervisor decides what becomes of the attempt.
RECORDED = (Diverged, DataError, CannotResume)


def watch_supervisor(pid: int, seconds: float = 1.0) -> None:
    """Kill this process group (torchrun and every rank) once the worker `pid` is gone."""

    def watch() -> None:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os.killpg(os.getpgrp(), signal.SIGKILL)
            threading.Event().wait(seconds)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def main(run_id: int) -> int:
    watch_supervisor(int(os.environ["DOWNHILL_SUPERVISOR_PID"]))
    ranks, device = join_from_environment()
    try:
        if not ranks.leader:
            run = Run.objects.select_related("experiment__dataset").get(pk=run_id)
            try:
                _train(run, [], ranks=ranks, device=device)
            except RECORDED:  # rank 0 met it too, and records it
                pass
            return 0
        attempt = RunAttempt(run_id, device=describe_device(device))
        attempt.adopt(os.environ["DOWNHILL_LEASE"])
        try:
            _run_attempt(attempt, None, ranks=ranks, device=device)
        except RECORDED as exc:
            attempt.finish(Run.Status.FAILED, **_failure(run_id, exc))
        return 0
    finally:
        leave()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
