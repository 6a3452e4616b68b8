"""Checkpoints written by the engine before the Trainer restructure (f1240d2) still resume, to
exactly the run that never stopped. The files in fixtures/ were written once by that code
(fixtures/write_checkpoints.py says how) and never change. Exactly on the kind of CPU they were
written on; on another, floats within recorded_cpu.CROSS_CPU_REL_TOL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.workers.recorded_cpu import float_tolerance
from tests.workers.test_engine import CPU, config, linear_table, schema_for
from tests.workers.test_golden import _diff
from tests.workers.test_training_options import EventRecorder, assert_same_run, everything_resumable
from workers.engine import fit, prepare

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as when the fixtures were written: the same sums in the same order
    yield
    torch.set_num_threads(threads)


def _load(name: str) -> dict:
    return torch.load(FIXTURES / name, map_location=CPU, weights_only=False)


@pytest.mark.parametrize(
    "name", ["checkpoint_f1240d2_mid_epoch.pt", "checkpoint_f1240d2_epoch_end.pt"]
)
def test_a_checkpoint_written_before_the_restructure_resumes_exactly(name, one_thread):
    cfg = everything_resumable()
    table = linear_table(n=200)
    data = prepare(table, schema_for(table), cfg)
    whole_rec = EventRecorder()
    whole = fit(cfg, data, [whole_rec], device=CPU)
    checkpoint = _load(name)

    second = EventRecorder()
    resumed = fit(cfg, data, [second], device=CPU, resume=checkpoint)

    assert second.events[0] == {
        "type": "resumed", "step": checkpoint["step"], "epoch": checkpoint["epoch"],
        "from_step": checkpoint["step"],
    }  # fmt: skip
    # Written on another kind of CPU (recorded_cpu.py), a fixture's weights round differently.
    rel = float_tolerance()
    resumed_run = {"points": second.points, "epochs": second.epochs, "summary": resumed.summary}
    whole_run = {
        "points": [p for p in whole_rec.points if p[0] > checkpoint["step"]],
        "epochs": whole_rec.epochs[-len(second.epochs) :],
        "summary": whole.summary,
    }
    as_json = lambda run: json.loads(json.dumps(run))  # noqa: E731 (tuples as lists)
    assert _diff(as_json(whole_run), as_json(resumed_run), rel=rel) is None
    if rel is None:  # elsewhere single weights drift further than the losses they make
        assert_same_run(resumed, whole)


def test_a_checkpoint_of_before_last_train_loss_resumes_with_its_epoch_means(one_thread):
    """Checkpoints written before 2026-11-21 kept the last epoch's means as `history` (the
    validation metrics a second time); they still resume, to the same summary."""
    cfg = config(epochs=3)
    table = linear_table(n=120)
    data = prepare(table, schema_for(table), cfg)
    whole = fit(cfg, data, [], device=CPU)
    old = _load("checkpoint_f1240d2_last_epoch.pt")  # stopped after its last epoch
    tracker = old["tracker"]
    assert "history" not in tracker and tracker["last_train_loss"] > 0
    old["tracker"] = {**tracker, "history": {"train_loss": tracker.pop("last_train_loss"),
                                             **tracker["last_metrics"]}}  # fmt: skip

    resumed = fit(cfg, data, [], device=CPU, resume=old)

    final, expected = resumed.summary["final_train_loss"], whole.summary["final_train_loss"]
    assert _diff(expected, final, rel=float_tolerance()) is None and expected > 0
    assert resumed.summary["epochs_completed"] == 3
