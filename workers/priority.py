"""A worker's share of a machine it shares with the web server: a lower CPU priority
(`os.nice`) and a bounded number of torch threads, so that training, which takes every cycle
it is given, never starves the pages and polls people are waiting on (bench/load)."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def lower_priority(nice: int) -> int:
    """Raise this process's niceness by `nice` (0: leave it); returns the niceness now. An
    unprivileged process can only lower its priority, which is all this asks.

    Linux with autogroups (the default on desktops and many servers) shares the CPU between
    sessions first and applies a process's niceness only within its session: a worker that
    leads a session of its own (`make run` starts each with setsid) so also lowers its
    session's autogroup, or its niceness would count for nothing against the web's session."""
    niceness = os.nice(max(nice, 0))
    if nice > 0 and os.getsid(0) == os.getpid():
        with contextlib.suppress(OSError):  # no autogroups here: niceness alone counts
            Path("/proc/self/autogroup").write_text(str(min(nice, 19)))
    return niceness


def bound_torch_threads(threads: int) -> int:
    """At most `threads` threads for torch's operations (0: torch's own choice, every core);
    returns the number torch uses. Several workers on one machine, each with a thread per
    core, would spin on each other's cores."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()
