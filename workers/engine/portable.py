"""The trained network in two portable formats, for use outside Downhill: ONNX (any ONNX
runtime) and TorchScript (`torch.jit.load`, no Downhill code needed).

Both hold the network only, in eval mode: their input is the preprocessed feature matrix
(float32, batch first: what `workers.contract.preprocessing.transform` returns for raw rows),
their output the model's raw outputs (before the output transform: softmax, sigmoid, ...), as
`workers.contract.inference.forward` computes them for POST /predict/. The batch dimension is
dynamic. The legacy (TorchScript-based) ONNX exporter is used: the networks are plain
`nn.Sequential`s, and it needs neither onnxscript nor a `torch.export` trace.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

ONNX_OPSET = 17
INPUT_NAME, OUTPUT_NAME = "features", "outputs"


def with_target_scale(model: nn.Module, target_scale: dict | None) -> nn.Module:
    """`model` followed by o * std + mean when it was trained on a standardized target
    (data.fit_target_scale), so the portable files answer in the target's units as model.npz
    and POST /predict/ do; `model` itself when it was not."""
    if target_scale is None:
        return model
    rescale = nn.Linear(1, 1)
    with torch.no_grad():
        rescale.weight.fill_(float(target_scale["std"]))
        rescale.bias.fill_(float(target_scale["mean"]))
    return nn.Sequential(model, rescale)


def export_onnx(model: nn.Module, example: torch.Tensor) -> bytes:
    """ONNX bytes of `model` (eval mode, on the CPU) traced on `example` (one batch)."""
    model = model.cpu().eval()
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The legacy exporter warns that it is deprecated on every call; it is chosen (above).
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example.cpu().float(),),
            buffer,
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
    return buffer.getvalue()


def export_torchscript(model: nn.Module, example: torch.Tensor) -> bytes:
    """TorchScript bytes (`torch.jit.save`) of `model` (eval mode, on the CPU), traced on
    `example`; the trace has no data-dependent branches, so any batch size loads."""
    model = model.cpu().eval()
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # torch 2.13 calls TorchScript deprecated (for torch.export); it is the format asked for.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.trace(model, example.cpu().float()), buffer)
    return buffer.getvalue()
