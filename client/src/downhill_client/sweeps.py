"""Sweeps: create from a dict, a JSON or YAML file; list, get, trials, importance, cancel, wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .experiments import load_config
from .models import Sweep, Trial
from .polling import poll_until_finished
from .transport import Transport


class Sweeps:
    def __init__(self, transport: Transport):
        self._t = transport

    def create(self, spec: dict | str | Path, *, dataset: int | None = None) -> Sweep:
        """A sweep from its body as POST /sweeps/ takes it (name, base, space, method, seed,
        objective, direction, max_trials, max_concurrent, pruner); `dataset` sets the base
        config's. The server queues the first trials; a 400 names each bad field."""
        body = dict(spec) if isinstance(spec, dict) else load_config(spec)
        if dataset is not None:
            base = body.get("base")
            body["base"] = {**(base if isinstance(base, dict) else {}), "dataset": dataset}
        return Sweep.from_api(self._t.post("/sweeps/", json=body))

    def list(self) -> list[Sweep]:
        return [Sweep.from_api(s) for s in self._t.all_pages("/sweeps/")]

    def get(self, sweep_id: int) -> Sweep:
        return Sweep.from_api(self._t.get(f"/sweeps/{sweep_id}/"))

    def trials(self, sweep_id: int) -> list[Trial]:
        """Every trial in number order, with its run and, when pruned, why."""
        return [Trial.from_api(t) for t in self._t.get(f"/sweeps/{sweep_id}/trials/")]

    def importance(self, sweep_id: int) -> dict:
        """{"importance": {param: share}, "evaluator", "message", "history"} (Optuna's fANOVA)."""
        return self._t.get(f"/sweeps/{sweep_id}/importance/")

    def cancel(self, sweep_id: int) -> Sweep:
        """Queued trials are cancelled, running ones asked to stop."""
        return Sweep.from_api(self._t.post(f"/sweeps/{sweep_id}/cancel/"))

    def wait(
        self,
        sweep_id: int,
        on_update: Callable[[Sweep], None] | None = None,
        *,
        interval: float = 2.0,
        timeout: float | None = None,
    ) -> Sweep:
        """Block until the sweep is finished or cancelled; returns it."""
        return poll_until_finished(
            lambda: self.get(sweep_id),
            what=f"sweep {sweep_id}",
            on_update=on_update,
            interval=interval,
            timeout=timeout,
        )
