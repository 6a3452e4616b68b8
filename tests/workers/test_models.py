"""Model architectures and weight initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from workers.engine.init import apply_init
from workers.engine.models import build_model

MLP = {"type": "mlp", "hidden": [16, 8], "activation": "relu", "dropout": 0.0, "batch_norm": False}
CNN = {
    "type": "cnn",
    "channels": [8, 16],
    "activation": "relu",
    "dropout": 0.0,
    "batch_norm": False,
}


def layer_types(model: nn.Module) -> list[type]:
    return [type(m) for m in model]


def test_linear_model_is_one_linear_layer():
    model = build_model({"type": "linear"}, 5, 3)
    assert layer_types(model) == [nn.Linear]
    assert model(torch.randn(4, 5)).shape == (4, 3)


def test_linear_and_mlp_flatten_image_inputs():
    linear = build_model({"type": "linear"}, (1, 4, 3), 2)
    mlp = build_model(MLP, (3, 5, 5), 2)
    assert layer_types(linear) == [nn.Flatten, nn.Linear]
    assert linear[1].in_features == 12
    assert mlp[1].in_features == 75
    assert mlp(torch.randn(6, 3, 5, 5)).shape == (6, 2)


def test_mlp_stacks_linear_and_activation_per_hidden_layer():
    model = build_model(MLP, 5, 3)
    assert layer_types(model) == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [16, 8, 3]
    assert model(torch.randn(7, 5)).shape == (7, 3)


@pytest.mark.parametrize(
    ("name", "module"),
    [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), ("gelu", nn.GELU)],
)
def test_mlp_uses_the_activation_asked_for(name, module):
    model = build_model({**MLP, "activation": name}, 5, 3)
    activations = [m for m in model if not isinstance(m, nn.Linear)]
    assert len(activations) == 2 and all(type(m) is module for m in activations)


def test_mlp_with_batch_norm_and_dropout_orders_them_linear_bn_activation_dropout():
    model = build_model({**MLP, "dropout": 0.25, "batch_norm": True}, 5, 3)
    block = [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout]
    assert layer_types(model) == block + block + [nn.Linear]
    assert [m.p for m in model if isinstance(m, nn.Dropout)] == [0.25, 0.25]
    assert [m.num_features for m in model if isinstance(m, nn.BatchNorm1d)] == [16, 8]
    assert model(torch.randn(7, 5)).shape == (7, 3)


def test_mlp_spec_without_dropout_or_batch_norm_keys_still_builds():
    model = build_model({"type": "mlp", "hidden": [4], "activation": "tanh"}, 3, 1)
    assert layer_types(model) == [nn.Linear, nn.Tanh, nn.Linear]


@pytest.mark.parametrize(
    ("shape", "n_pools"),
    [((1, 28, 28), 2), ((3, 7, 9), 2), ((3, 2, 2), 1), ((1, 1, 1), 0), ((1, 1, 9), 0)],
)
def test_cnn_output_shape_for_any_image_size_pooling_until_a_side_is_one(shape, n_pools):
    model = build_model(CNN, shape, 10)
    assert model(torch.randn(4, *shape)).shape == (4, 10)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model) == n_pools


def test_cnn_layers_per_channel_entry_then_global_pool_and_linear_head():
    model = build_model({**CNN, "channels": [8, 16, 32]}, (3, 7, 9), 5)
    assert layer_types(model) == [
        nn.Conv2d, nn.ReLU, nn.MaxPool2d,  # 7x9 -> 3x4
        nn.Conv2d, nn.ReLU, nn.MaxPool2d,  # 3x4 -> 1x2
        nn.Conv2d, nn.ReLU,                # a side is 1: no more pooling
        nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear,
    ]  # fmt: skip
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 8), (8, 16), (16, 32)]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert model[-1].in_features == 32 and model[-1].out_features == 5


def test_cnn_with_batch_norm_and_dropout():
    model = build_model(
        {**CNN, "dropout": 0.5, "batch_norm": True, "activation": "gelu"}, (1, 8, 8), 3
    )
    assert layer_types(model) == [
        nn.Conv2d, nn.BatchNorm2d, nn.GELU, nn.MaxPool2d,
        nn.Conv2d, nn.BatchNorm2d, nn.GELU, nn.MaxPool2d,
        nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout, nn.Linear,
    ]  # fmt: skip
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)


def test_cnn_refuses_tabular_inputs():
    with pytest.raises(ValueError, match="image inputs"):
        build_model(CNN, 12, 3)


# --- initialisation -------------------------------------------------------------------------

WIDE = {"type": "mlp", "hidden": [400], "activation": "relu"}  # layers of 300x400 and 400x200


def wide_weights(init: dict, seed: int = 0) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    model = build_model(WIDE, 300, 200)
    apply_init(model, init)
    return [m.weight.detach() for m in model if isinstance(m, nn.Linear)]


def conv_model() -> nn.Sequential:
    return build_model({**CNN, "channels": [32, 64], "batch_norm": True}, (3, 8, 8), 4)


NON_DEFAULT = [
    {"type": "xavier_uniform"},
    {"type": "xavier_normal"},
    {"type": "he_uniform"},
    {"type": "he_normal"},
    {"type": "orthogonal"},
    {"type": "normal", "std": 0.02},
    {"type": "zeros"},
]


def test_default_init_leaves_torchs_own_initialisation_and_draws_nothing():
    torch.manual_seed(5)
    initialised = conv_model()
    apply_init(initialised, {"type": "default"})
    after = torch.rand(3)
    torch.manual_seed(5)
    fresh = conv_model()
    assert after.equal(torch.rand(3))
    for a, b in zip(initialised.parameters(), fresh.parameters(), strict=True):
        assert a.equal(b)


@pytest.mark.parametrize("init", NON_DEFAULT, ids=lambda i: i["type"])
def test_every_other_scheme_zeroes_biases_and_resets_batch_norm(init):
    torch.manual_seed(0)
    model = conv_model()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.5)  # so that a layer the scheme skips would show
    apply_init(model, init)
    for m in model:
        if isinstance(m, nn.Linear | nn.Conv2d):
            assert not m.weight.eq(0.5).any()
            assert m.bias.eq(0).all()
        elif isinstance(m, nn.BatchNorm2d):
            assert m.weight.eq(1).all() and m.bias.eq(0).all()


def test_zeros_init_makes_every_weight_and_bias_zero():
    torch.manual_seed(0)
    model = build_model(MLP, 5, 3)
    apply_init(model, {"type": "zeros"})
    assert all(p.eq(0).all() for p in model.parameters())


def test_schemes_draw_from_the_seeded_global_rng():
    first, again, other = (wide_weights({"type": "he_normal"}, seed=s)[0] for s in (1, 1, 2))
    assert first.equal(again)
    assert not first.equal(other)


def test_normal_init_has_the_requested_std():
    for w in wide_weights({"type": "normal", "std": 0.05}):
        assert abs(w.mean().item()) < 0.002
        assert w.std().item() == pytest.approx(0.05, rel=0.03)


def test_orthogonal_init_gives_orthonormal_rows():
    torch.manual_seed(0)
    model = build_model({"type": "mlp", "hidden": [64], "activation": "relu"}, 64, 200)
    apply_init(model, {"type": "orthogonal"})
    square, tall = model[0].weight.detach(), model[2].weight.detach()  # 64x64, 200x64
    assert torch.allclose(square @ square.T, torch.eye(64), atol=1e-5)
    assert torch.allclose(tall.T @ tall, torch.eye(64), atol=1e-5)  # orthonormal columns


def uniform_bound(variance: float) -> float:
    return math.sqrt(3 * variance)  # U(-b, b) has variance b^2 / 3


@pytest.mark.parametrize(
    ("init", "variance"),
    [
        ("xavier_uniform", lambda fan_in, fan_out: 2 / (fan_in + fan_out)),
        ("xavier_normal", lambda fan_in, fan_out: 2 / (fan_in + fan_out)),
        ("he_uniform", lambda fan_in, fan_out: 2 / fan_in),
        ("he_normal", lambda fan_in, fan_out: 2 / fan_in),
    ],
)
def test_xavier_and_he_have_their_variance_and_distribution(init, variance):
    for w in wide_weights({"type": init}):
        fan_out, fan_in = w.shape
        expected = variance(fan_in, fan_out)
        assert w.var().item() == pytest.approx(expected, rel=0.05)
        beyond = (w.abs() > uniform_bound(expected)).float().mean().item()
        if init.endswith("uniform"):
            assert beyond == 0
        else:  # a normal puts 8.3% of its mass beyond sqrt(3) standard deviations
            assert beyond == pytest.approx(0.083, abs=0.01)


def test_he_init_counts_the_kernel_in_a_convolutions_fan_in():
    torch.manual_seed(0)
    model = conv_model()
    apply_init(model, {"type": "he_normal"})
    conv = model[4]  # 32 -> 64 channels, 3x3: fan_in 288
    assert isinstance(conv, nn.Conv2d)
    assert conv.weight.var().item() == pytest.approx(2 / 288, rel=0.05)


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match="Unknown init type 'lecun'"):
        apply_init(build_model(MLP, 5, 3), {"type": "lecun"})
