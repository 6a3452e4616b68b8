"""Where a run's resume checkpoints live in storage. Names only, no torch: the web reads
them (to offer "Resume" on a cancelled run), the worker writes and loads them."""

from __future__ import annotations

import re

from django.core.files.storage import default_storage


def resume_checkpoint_path(run_id: int, step: int) -> str:
    """Named by step, zero-padded, so names sort in step order."""
    return f"runs/{run_id}/resume-{step:012d}.pt"


RESUME_NAME = re.compile(r"resume-(\d{12})\.pt")


def resume_checkpoints(run_id: int) -> list[str]:
    """Stored resume checkpoints of a run, newest (highest step) first; other files (one a
    storage renamed, say) are not theirs."""
    folder = f"runs/{run_id}"
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = sorted((f for f in files if RESUME_NAME.fullmatch(f)), reverse=True)
    return [f"{folder}/{name}" for name in names]


def resume_point(run_id: int) -> int | None:
    """The step of a run's newest resume checkpoint, or None when it has none."""
    paths = resume_checkpoints(run_id)
    return int(RESUME_NAME.fullmatch(paths[0].rsplit("/", 1)[1]).group(1)) if paths else None


# A run's kept weights (workers/weights.py writes them): "initial", "final" and, for small
# models, snapshots "epoch-000012" for the landscape's trajectory.
WEIGHTS_NAME = re.compile(r"(initial|final|epoch-(\d{6}))\.pt")


def weights_path(run_id: int, name: str) -> str:
    return f"runs/{run_id}/weights/{name}.pt"


def kept_weights(run_id: int) -> list[str]:
    """The names of a run's kept weights, sorted (snapshots in epoch order)."""
    try:
        _, files = default_storage.listdir(f"runs/{run_id}/weights")
    except FileNotFoundError:
        return []
    return sorted(m.group(1) for f in files if (m := WEIGHTS_NAME.fullmatch(f)))


def snapshot_names(kept: list[str]) -> list[str]:
    """The trajectory's points among a run's kept weights, in training order: the initial
    weights, then the epochs' snapshots."""
    return [name for name in kept if name == "initial"] + [
        n for n in kept if n.startswith("epoch-")
    ]
