"""Exported models predict with NumPy exactly as the torch model does in eval mode."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from workers.contract.inference import erfc, forward
from workers.engine.export import export_layers, layers_from_npz, layers_to_npz_dict
from workers.engine.models import build_model

REPO = Path(__file__).resolve().parents[2]
ATOL = 1e-5


def trained(spec: dict, shape, n_outputs: int, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """`spec`'s model after a few SGD steps on shifted, scaled inputs (so batch-norm running
    statistics are far from their 0/1 start), in eval mode, and fresh inputs for it."""
    torch.manual_seed(seed)
    dims = (shape,) if isinstance(shape, int) else shape
    model = build_model(spec, shape, n_outputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for _ in range(3):
        x = torch.randn(16, *dims) * 2 + 0.5
        loss = (model(x) - torch.randn(16, n_outputs)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), torch.randn(8, *dims) * 2 + 0.5


def assert_numpy_matches_torch(model: nn.Module, x: torch.Tensor) -> None:
    layers = layers_from_npz(layers_to_npz_dict(export_layers(model)))
    with torch.no_grad():
        expected = model(x).numpy()
    got = forward(layers, x.numpy())
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


def test_linear_model_matches_torch():
    model, x = trained({"type": "linear"}, 6, 3)
    assert_numpy_matches_torch(model, x)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu"])
@pytest.mark.parametrize(("dropout", "batch_norm"), [(0.0, False), (0.3, True)])
def test_mlp_matches_torch_in_eval_mode(activation, dropout, batch_norm):
    spec = {"type": "mlp", "hidden": [32, 16], "activation": activation, "dropout": dropout,
            "batch_norm": batch_norm}  # fmt: skip
    model, x = trained(spec, 10, 4)
    if batch_norm:  # the test means something only if the running stats moved
        assert model[1].running_mean.abs().max() > 0.1
    assert_numpy_matches_torch(model, x)


def test_batch_norm_of_a_near_constant_feature_matches_torch():
    # Running variance 1e-6 against eps 1e-5: eps sets most of the scale, so leaving it out shows.
    spec = {"type": "mlp", "hidden": [4], "activation": "relu", "batch_norm": True}
    model, _ = trained(spec, 3, 2)
    x = 1.0 + 1e-3 * torch.randn(8, 3)
    with torch.no_grad():
        hidden = model[0](x)
        model[1].running_mean.copy_(hidden.mean(dim=0))
        model[1].running_var.fill_(1e-6)
    assert_numpy_matches_torch(model, x)


@pytest.mark.parametrize("shape", [(1, 7, 9), (3, 7, 9), (3, 16, 16), (1, 1, 1)])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_cnn_matches_torch_in_eval_mode(shape, batch_norm):
    spec = {"type": "cnn", "channels": [8, 16], "activation": "relu", "dropout": 0.2,
            "batch_norm": batch_norm}  # fmt: skip
    model, x = trained(spec, shape, 5)
    assert_numpy_matches_torch(model, x)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu"])
def test_cnn_with_smooth_activations_matches_torch(activation):
    spec = {"type": "cnn", "channels": [4, 8, 8], "activation": activation, "dropout": 0.0,
            "batch_norm": True}  # fmt: skip
    model, x = trained(spec, (3, 9, 7), 2)
    assert_numpy_matches_torch(model, x)


def test_mlp_on_flattened_images_matches_torch():
    model, x = trained({"type": "mlp", "hidden": [8], "activation": "gelu"}, (2, 5, 3), 3)
    assert_numpy_matches_torch(model, x)


def test_export_lists_the_eval_mode_layers_without_dropout():
    spec = {"type": "mlp", "hidden": [4], "activation": "tanh", "dropout": 0.5, "batch_norm": True}
    model, _ = trained(spec, 3, 2)
    layers = export_layers(model)
    assert [layer["op"] for layer in layers] == ["linear", "batch_norm", "tanh", "linear"]
    bn = model[1]
    np.testing.assert_array_equal(layers[1]["mean"], bn.running_mean.numpy())
    np.testing.assert_array_equal(layers[1]["var"], bn.running_var.numpy())
    assert layers[1]["eps"] == bn.eps
    assert layers[0]["weight"].dtype == np.float32 and layers[0]["weight"].shape == (4, 3)


def test_cnn_export_records_padding_and_pool_kernel():
    model = build_model({"type": "cnn", "channels": [4], "activation": "relu"}, (1, 4, 4), 2)
    ops = export_layers(model)
    assert [layer["op"] for layer in ops] == [
        "conv2d", "relu", "max_pool2d", "global_avg_pool", "flatten", "linear"
    ]  # fmt: skip
    assert ops[0]["padding"] == 1 and ops[0]["weight"].shape == (4, 1, 3, 3)
    assert ops[2]["kernel"] == 2


def test_round_trip_through_an_npz_file_without_pickle(tmp_path):
    spec = {
        "type": "cnn",
        "channels": [4, 8],
        "activation": "gelu",
        "dropout": 0.1,
        "batch_norm": True,
    }
    model, x = trained(spec, (3, 7, 9), 3)
    layers = export_layers(model)
    path = tmp_path / "model.npz"
    np.savez(path, **layers_to_npz_dict(layers))
    with np.load(path, allow_pickle=False) as saved:
        loaded = layers_from_npz(saved)

    assert [layer.keys() for layer in loaded] == [layer.keys() for layer in layers]
    for before, after in zip(layers, loaded, strict=True):
        for field, value in before.items():
            if isinstance(value, np.ndarray):
                assert after[field].dtype == value.dtype
                np.testing.assert_array_equal(after[field], value)
            else:
                assert type(after[field]) is type(value) and after[field] == value
    with torch.no_grad():
        np.testing.assert_allclose(forward(loaded, x.numpy()), model(x).numpy(), rtol=0, atol=ATOL)


def test_web_process_loads_and_predicts_without_importing_torch(tmp_path):
    model, x = trained(
        {"type": "mlp", "hidden": [8], "activation": "gelu", "batch_norm": True}, 4, 2
    )
    np.savez(tmp_path / "model.npz", **layers_to_npz_dict(export_layers(model)))
    np.save(tmp_path / "x.npy", x.numpy())
    with torch.no_grad():
        np.save(tmp_path / "expected.npy", model(x).numpy())
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from workers.contract.inference import forward, layers_from_npz

        heavy = sorted(m for m in sys.modules if m.split(".")[0] == "torch" or m.startswith("workers.engine"))
        assert not heavy, f"imported: {{heavy[:5]}}"
        with np.load({str(tmp_path / "model.npz")!r}, allow_pickle=False) as saved:
            layers = layers_from_npz(saved)
        got = forward(layers, np.load({str(tmp_path / "x.npy")!r}))
        expected = np.load({str(tmp_path / "expected.npy")!r})
        np.testing.assert_allclose(got, expected, rtol=0, atol={ATOL})
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_unknown_layers_and_ops_are_refused():
    with pytest.raises(ValueError, match="Cannot export layer"):
        export_layers(nn.Sequential(nn.Linear(2, 2), nn.Softplus()))
    with pytest.raises(ValueError, match="exact"):
        export_layers(nn.Sequential(nn.GELU(approximate="tanh")))
    with pytest.raises(ValueError, match="stride-1"):
        export_layers(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2)))
    with pytest.raises(ValueError, match="unknown op 'softmax'"):
        forward([{"op": "softmax"}], np.zeros((1, 2)))


def test_a_file_without_format_version_is_refused():
    with pytest.raises(ValueError, match="format_version"):
        layers_from_npz({"0.op": np.array("relu")})


def test_erfc_is_accurate_to_near_double_precision():
    z = np.concatenate([np.linspace(-6, 6, 4001), [-30.0, -2.5, 2.5, 10.0, 26.0]])
    expected = np.array([math.erfc(v) for v in z])
    got = erfc(z)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-15)
    np.testing.assert_allclose(got, expected, rtol=2e-12, atol=0)


def test_sigmoid_and_gelu_stay_finite_and_accurate_in_their_tails():
    x = np.array([[-1000.0, -40.0, -20.0, -3.0, 0.0, 0.5, 40.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        sigmoid = forward([{"op": "sigmoid"}], x)
        gelu = forward([{"op": "gelu"}], x)
    values = x.ravel().tolist()
    expected_sigmoid = [1 / (1 + math.exp(-v)) if v > -700 else 0.0 for v in values]
    expected_gelu = [0.5 * v * math.erfc(-v / math.sqrt(2)) for v in values]
    np.testing.assert_allclose(sigmoid.ravel(), expected_sigmoid, rtol=1e-13, atol=0)
    np.testing.assert_allclose(gelu.ravel(), expected_gelu, rtol=2e-12, atol=0)
