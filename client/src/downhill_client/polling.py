"""Polling an object until it has finished, for the things that end on the server's time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until_finished(
    fetch: Callable[[], T],
    *,
    what: str,
    on_update: Callable[[T], None] | None = None,
    interval: float = 1.0,
    timeout: float | None = None,
) -> T:
    """fetch() every `interval` seconds until the answer's `finished` is true, and return it;
    `on_update` sees every answer. TimeoutError naming `what` after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        current = fetch()
        if on_update:
            on_update(current)
        if current.finished:
            return current
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{what} is still {current.status} after {timeout:g} s.")
        time.sleep(interval)
