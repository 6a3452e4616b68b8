"""The run the ranks test trains: a small MLP on a regression table, a batch of 33 that two
ranks split 17 / 16 (the epoch's last 28: 14 / 14), SGD with momentum, 3 epochs; the target standardized, so float32 rounding stays far below 1e-6."""

from tests.workers.test_engine import config, linear_table, schema_for
from workers.engine import prepare


def scenario():
    table = linear_table(n=200)
    run_config = config(
        model={"type": "mlp", "hidden": [8], "activation": "tanh", "dropout": 0.0, "batch_norm": False},
        target_scaling="standardize", momentum=0.9, learning_rate=0.05, batch_size=33, epochs=3, distributed={"nodes": 1, "procs_per_node": 2},
    )  # fmt: skip
    return run_config, prepare(table, schema_for(table), run_config)
