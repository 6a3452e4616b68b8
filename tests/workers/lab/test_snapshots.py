"""The engine hands out the initial weights of every run and, for small models, a bounded
number of snapshots evenly spaced by epoch (the landscape's line and trajectory)."""

from __future__ import annotations

import torch

from tests.workers.test_engine import CPU, config, linear_table, schema_for
from workers.engine import Callback, fit, prepare
from workers.engine.features.snapshots import MAX_SNAPSHOTS, snapshot_epochs


class Keeper(Callback):
    def __init__(self):
        self.weights: dict[str, dict] = {}

    def on_weights(self, state, name, weights):
        self.weights[name] = {k: v.clone() for k, v in weights.items()}


def test_a_run_hands_out_its_initial_weights_and_one_snapshot_per_epoch():
    table = linear_table(d=2)
    data = prepare(table, schema_for(table), config())
    keeper = Keeper()
    result = fit(config(epochs=4), data, [keeper], device=CPU)
    assert list(keeper.weights) == ["initial"] + [f"epoch-{e:06d}" for e in range(1, 5)]
    final = result.model.state_dict()
    assert all(torch.equal(keeper.weights["epoch-000004"][k], final[k]) for k in final)
    assert not torch.equal(keeper.weights["initial"]["0.weight"], final["0.weight"])
    # the initial weights are those of the same seed's model before its first step
    untrained = fit(config(epochs=4, learning_rate=0.0), data, device=CPU).model.state_dict()
    assert all(torch.equal(keeper.weights["initial"][k], untrained[k]) for k in untrained)


def test_long_runs_keep_at_most_fifty_snapshots_evenly_spaced_ending_at_the_last_epoch():
    epochs = snapshot_epochs(120)
    assert len(epochs) == MAX_SNAPSHOTS and max(epochs) == 120 and min(epochs) == 3
    gaps = {b - a for a, b in zip(sorted(epochs), sorted(epochs)[1:], strict=False)}
    assert gaps <= {2, 3}
    assert snapshot_epochs(7) == set(range(1, 8))


def test_a_large_model_hands_out_its_initial_weights_only():
    table = linear_table(d=2)
    data = prepare(table, schema_for(table), config())
    keeper = Keeper()
    big = {"type": "mlp", "hidden": [400, 400], "activation": "relu"}  # about 162,000 parameters
    fit(config(epochs=2, model=big, learning_rate=1e-4), data, [keeper], device=CPU)
    assert list(keeper.weights) == ["initial"]
