"""The lab's jobs on a training worker: the LR range test of an experiment's config, trained
by the engine's Trainer from the run's initial weights, its points stored as they come."""

from __future__ import annotations

import logging
import time

from downhill.lab.models import RangeTest
from downhill.lab.services import range_test_claim, range_test_finish, range_test_progress

from .engine import Callback, DataError, Stop, pick_device, prepare
from .engine.lab.range_test import RangeSpec, range_test
from .failures import internal_error
from .tables import read_table

log = logging.getLogger(__name__)
S = RangeTest.Status


class RangeTestWriter(Callback):
    """Stores the growing series about once a second; a cancel asked meanwhile stops the test."""

    def __init__(self, test_id: int, every: float = 1.0):
        self.test_id, self.every, self.next_write = test_id, every, 0.0
        self.series = {"lr": [], "loss": [], "smoothed": []}
        self.state = None

    def on_train_begin(self, state) -> None:
        self.state = state

    def add(self, points: list) -> None:
        for _, lr, loss, smooth in points:
            self.series["lr"].append(lr)
            self.series["loss"].append(loss)
            self.series["smoothed"].append(smooth)
        if time.monotonic() >= self.next_write:
            self.next_write = time.monotonic() + self.every
            if range_test_progress(self.test_id, self.series) and self.state is not None:
                self.state.request_stop(Stop.CANCEL, "cancelled")


def execute_range_test(test_id: int) -> None:
    """Run a queued range test to its end; nothing raises (a failure says why on the row)."""
    if not range_test_claim(test_id):
        log.info("range test %s is not queued; skipping", test_id)
        return
    test = RangeTest.objects.select_related("experiment__dataset").get(pk=test_id)
    try:
        result = _run(test)
    except DataError as exc:
        range_test_finish(
            test_id, S.FAILED, error=f"The data cannot be trained as configured: {exc}"
        )
        return
    except Exception as exc:  # noqa: BLE001 (the user sees a sentence; the log has the trace)
        log.exception("range test %s failed", test_id)
        error = internal_error(exc)
        range_test_finish(test_id, S.FAILED, error=error)
        return
    status = S.CANCELLED if result["stop_reason"] == "cancelled" else S.SUCCEEDED
    series = {key: result[key] for key in ("lr", "loss", "smoothed")}
    range_test_finish(test_id, status, series=series, suggestions=result["suggestions"],
                      stop_reason=result["stop_reason"])  # fmt: skip


def _run(test: RangeTest) -> dict:
    config, dataset = test.experiment.config, test.experiment.dataset
    data = prepare(read_table(dataset), dataset.columns, config)
    writer = RangeTestWriter(test.id)
    spec = RangeSpec(**test.params)
    return range_test(config, data, spec, device=pick_device(), callbacks=[writer],
                      progress=writer.add)  # fmt: skip
