"""A worker's share of a machine it shares with the web server: a lower CPU priority
(`os.nice`) and a bounded number of torch threads, so that training, which takes every cycle
it is given, never starves the pages and polls people are waiting on (bench/load)."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def lower_priority(nice: int) -> int:
    """Raise this process's niceness by `nice` (0: leave it); returns the niceness now. An
    unprivileged process can only lower its priority, which is all this asks."""
    return os.nice(max(nice, 0))


def bound_torch_threads(threads: int) -> int:
    """At most `threads` threads for torch's operations (0: torch's own choice, every core);
    returns the number torch uses. Several workers on one machine, each with a thread per
    core, would spin on each other's cores."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()
