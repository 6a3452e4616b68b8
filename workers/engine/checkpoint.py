"""A checkpoint is a plain dict: the trainer's own part (weights, optimizer, schedule, random
streams, step, the running record) and each callback's state under its `state_key`.

Layout 1 (written before the Trainer, until f1240d2) kept the features' state in one flat
`tracker` and SWA's average in `swa`; `upgrade_checkpoint` turns it into today's layout, so
those checkpoints resume (tests/workers/test_old_checkpoints.py resumes committed ones).
"""

from __future__ import annotations

import torch

LAYOUT_1_KEYS = ("tracker", "swa")


def state_copy(model: torch.nn.Module) -> dict:
    """A detached copy of the weights, kept on the device (no host sync, no disk)."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def upgrade_checkpoint(checkpoint: dict, config: dict) -> dict:
    """`checkpoint` in today's layout (unchanged when it is in it already)."""
    if checkpoint.get("version", 1) >= 2:
        return checkpoint
    tracker = dict(checkpoint["tracker"])
    if "history" in tracker:  # a checkpoint of before 2026-11-21: the epoch's means
        tracker["last_train_loss"] = tracker.pop("history").get("train_loss")
    partial = checkpoint.get("in_epoch")
    epoch = partial["epoch"] if partial else checkpoint["epoch"]
    switch = config.get("optimizer_switch")
    record = ("completed_epochs", "last_train_loss", "last_metrics", "last_details")
    return {
        **{key: value for key, value in checkpoint.items() if key not in LAYOUT_1_KEYS},
        "version": 2,
        "trainer": {key: tracker[key] for key in record},
        "callbacks": {
            "optimizer_switch": {"switched": bool(switch) and epoch >= switch["at_epoch"]},
            "swa": {"averaged": checkpoint["swa"]},
            "best": {"best": tracker["best"], "min_val_loss": tracker["min_val_loss"]},
            "early_stopping": {
                "bad_epochs": tracker["bad_epochs"],
                "best": tracker["stopping_best"],
            },
        },
    }
