"""The optimization lab: LR range tests of an experiment's config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .experiments import load_config
from .models import RangeTest
from .polling import poll_until_finished
from .transport import Transport


class Lab:
    def __init__(self, transport: Transport):
        self._t = transport

    def range_test(self, spec: dict | str | Path | None = None, **settings) -> RangeTest:
        """Queue an LR range test: `spec` (a dict, or a JSON or YAML file) and keyword settings
        (experiment, start_lr, end_lr, steps, mode; these win) as POST /lab/range-tests/
        takes them. The server names each bad field (400)."""
        body = {} if spec is None else dict(spec) if isinstance(spec, dict) else load_config(spec)
        body.update({k: v for k, v in settings.items() if v is not None})
        return RangeTest.from_api(self._t.post("/lab/range-tests/", json=body))

    def list(self) -> list[RangeTest]:
        return [RangeTest.from_api(t) for t in self._t.all_pages("/lab/range-tests/")]

    def get(self, test_id: int) -> RangeTest:
        return RangeTest.from_api(self._t.get(f"/lab/range-tests/{test_id}/"))

    def cancel(self, test_id: int) -> RangeTest:
        return RangeTest.from_api(self._t.post(f"/lab/range-tests/{test_id}/cancel/"))

    def wait(
        self,
        test_id: int,
        on_update: Callable[[RangeTest], None] | None = None,
        *,
        interval: float = 1.0,
        timeout: float | None = None,
    ) -> RangeTest:
        """Block until the test has ended (succeeded, failed or cancelled); returns it."""
        return poll_until_finished(
            lambda: self.get(test_id),
            what=f"range test {test_id}",
            on_update=on_update,
            interval=interval,
            timeout=timeout,
        )
