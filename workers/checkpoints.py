"""A run's files in storage: resume checkpoints (the engine's plain dicts, torch.save), and at
the end the "last" and "best" checkpoints and the model exported for NumPy inference."""

from __future__ import annotations

import io
import logging

import numpy as np
import torch
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from downhill.runs.checkpoints import resume_checkpoint_path, resume_checkpoints

from .engine.export import export_model, layers_to_npz_dict
from .engine.portable import export_onnx, export_torchscript, with_target_scale

log = logging.getLogger(__name__)


class CannotResume(RuntimeError):
    """The checkpoint a run continues from is gone or damaged; the message says so."""


def store_resume_checkpoint(run_id: int, checkpoint: dict) -> str:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return save_stored(resume_checkpoint_path(run_id, checkpoint["step"]), buffer.getvalue())


def prune_resume_checkpoints(run_id: int) -> None:
    """All but the newest: it is stored, so a crash from here on leaves it."""
    for older in resume_checkpoints(run_id)[1:]:
        default_storage.delete(older)


def load_resume_checkpoint(run_id: int, device) -> dict | None:
    """The newest resume checkpoint that loads (a half-written one is skipped)."""
    for path in resume_checkpoints(run_id):
        try:
            return load_stored(path, device)
        except Exception:  # noqa: BLE001 (a truncated file: fall back to the one before)
            log.warning("run %s: checkpoint %s does not load; trying an older one", run_id, path)
    return None


def starting_point(run, device) -> dict | None:
    """Where a run starts: its own newest checkpoint (an earlier attempt lost its worker), else
    the checkpoint of the cancelled run it continues, else nothing (the first step)."""
    own = load_resume_checkpoint(run.id, device)
    if own is not None or run.resumed_from_id is None:
        return own
    path = resume_checkpoint_path(run.resumed_from_id, run.resumed_from_step)
    try:
        return load_stored(path, device)
    except Exception as exc:  # noqa: BLE001 (missing or damaged: the run cannot go on)
        raise CannotResume(
            f"This run continues run {run.resumed_from_id} from its checkpoint at step "
            f"{run.resumed_from_step}, which cannot be read ({exc.__class__.__name__}). "
            f"Start a fresh run of the experiment instead."
        ) from exc


def save_artifacts(run_id: int, result, example) -> dict:
    """Checkpoints (plain dicts, torch.save), the final model exported for NumPy inference,
    and as ONNX and TorchScript (traced on `example`, a batch of preprocessed features)."""
    artifacts: dict = {"checkpoints": {}}
    for name, checkpoint in result.checkpoints.items():
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        artifacts["checkpoints"][name] = save_stored(f"runs/{run_id}/{name}.pt", buffer.getvalue())
    buffer = io.BytesIO()
    layers = export_model(result.model.cpu(), result.target_scale)
    np.savez(buffer, **layers_to_npz_dict(layers))
    artifacts["model"] = save_stored(f"runs/{run_id}/model.npz", buffer.getvalue())
    portable = with_target_scale(result.model.cpu(), result.target_scale)
    for name, export, filename in _PORTABLE:
        try:
            content = export(portable, example)
        except Exception as exc:  # noqa: BLE001 (the run trained: a failed export does not fail it)
            log.exception("run %s: the %s export failed", run_id, name)
            artifacts.setdefault("export_errors", {})[name] = f"{exc.__class__.__name__}: {exc}"
            continue
        artifacts[name] = save_stored(f"runs/{run_id}/{filename}", content)
    return artifacts


# (artifacts key, exporter, file name) of the model's portable formats
_PORTABLE = (
    ("onnx", export_onnx, "model.onnx"),
    ("torchscript", export_torchscript, "model.torchscript.pt"),
)


def load_stored(path: str, device) -> dict:
    """A torch file from storage (local or the bucket), onto `device`."""
    with default_storage.open(path, "rb") as stored:
        return torch.load(io.BytesIO(stored.read()), map_location=device, weights_only=False)


def save_stored(path: str, content: bytes) -> str:
    """Bytes to storage under `path`, replacing what was there; the stored name."""
    if default_storage.exists(path):
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(content))
