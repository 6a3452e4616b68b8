"""Objectives against their formulas, written out again here in NumPy, and on tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workers.contract.losses import LOSSES_BY_TASK
from workers.contract.transforms import OUTPUT_TRANSFORMS, predicted_classes, values
from workers.contract.transforms import probabilities as numpy_probabilities
from workers.engine.data import DataError
from workers.engine.losses import build_objective


@pytest.fixture(autouse=True)
def one_thread():
    """Tensors of a few hundred rows gain nothing from a thread pool, and on a busy two-core
    machine its handoffs made a 400-step fit take seconds instead of a tenth of one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CLASSIFICATION = ("cross_entropy", "binary_cross_entropy", "hinge", "squared_hinge")
REGRESSION = ("mse", "mae", "huber", "msle", "poisson")


def objective(name: str, n_classes: int = 3):
    if name in REGRESSION:
        return build_objective(name, "regression", None)
    return build_objective(
        name, "classification", 2 if name == "binary_cross_entropy" else n_classes
    )


def sigmoid(o):
    return 1 / (1 + np.exp(-o))


def softmax(o):
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def multi_margin(o, y, p):
    rows = []
    for logits, cls in zip(o, y, strict=True):
        terms = [max(0.0, 1 - logits[cls] + logits[j]) ** p for j in range(len(logits)) if j != cls]
        rows.append(sum(terms) / len(logits))  # divided by all C classes, the true one included
    return np.array(rows)


def huber(d):
    return np.where(np.abs(d) <= 1, 0.5 * d**2, np.abs(d) - 0.5)


# Row losses from the formulas: o is the raw output, y the class index or target value.
FORMULAS = {
    "cross_entropy": lambda o, y: -np.log(softmax(o)[np.arange(len(y)), y]),
    "binary_cross_entropy": lambda o, y: (
        -(y * np.log(sigmoid(o[:, 0])) + (1 - y) * np.log(1 - sigmoid(o[:, 0])))
    ),
    "hinge": lambda o, y: multi_margin(o, y, p=1),
    "squared_hinge": lambda o, y: multi_margin(o, y, p=2),
    "mse": lambda o, y: (o - y) ** 2,
    "mae": lambda o, y: np.abs(o - y),
    "huber": lambda o, y: huber(o - y),
    "msle": lambda o, y: (np.log(1 + np.maximum(o, 0)) - np.log(1 + y)) ** 2,
    "poisson": lambda o, y: np.exp(o) - y * o,
}

# Hand-made cases; regression outputs cross 0 (msle's clamp) and errors cross 1 (huber's kink).
LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 1.2], [3.0, -2.0, 0.0]])
LABELS = np.array([0, 2, 1, 1])
BINARY_LOGITS = np.array([[1.5], [-0.3], [0.0], [-2.5], [4.0]])
BINARY_LABELS = np.array([1, 1, 0, 0, 1])
REG_OUTPUTS = np.array([[0.5], [2.0], [-0.7], [3.1], [1.0]])
REG_TARGETS = np.array([[0.0], [1.2], [0.4], [5.0], [1.0]])


def hand_made_case(name):
    """(raw outputs, raw targets as the data module makes them) as float32/long tensors."""
    if name == "binary_cross_entropy":
        o, y = BINARY_LOGITS, torch.from_numpy(BINARY_LABELS)
    elif name in CLASSIFICATION:
        o, y = LOGITS, torch.from_numpy(LABELS)
    else:
        o, y = REG_OUTPUTS, torch.from_numpy(REG_TARGETS).float()
    return torch.tensor(o, dtype=torch.float32), y


@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_loss_is_the_mean_of_its_formula_over_rows(name):
    obj = objective(name)
    output, y = hand_made_case(name)
    expected = FORMULAS[name](output.double().numpy(), y.numpy()).mean()
    assert obj.loss(output, obj.encode_targets(y)).item() == pytest.approx(expected, rel=1e-5)


def test_hinge_divides_each_row_by_the_number_of_classes_true_class_included():
    # margins: 1 - 0.5 + 1.0 = 1.5 for class 1, 1 - 0.5 - 1.0 < 0 for class 2 -> 1.5 / 3
    output, target = torch.tensor([[0.5, 1.0, -1.0]]), torch.tensor([0])
    assert build_objective("hinge", "classification", 3).loss(output, target).item() == 0.5
    assert build_objective("squared_hinge", "classification", 3).loss(
        output, target
    ).item() == pytest.approx(1.5**2 / 3)


@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_loss_equals_loss_sum_divided_by_rows(name):
    obj = objective(name, n_classes=4)
    gen = torch.Generator().manual_seed(0)
    n = 7
    output = torch.randn(n, obj.n_outputs, generator=gen)
    if name in REGRESSION:
        y = torch.rand(n, 1, generator=gen) * 3
    else:
        y = torch.randint(0, 2 if name == "binary_cross_entropy" else 4, (n,), generator=gen)
    target = obj.encode_targets(y)
    total = obj.loss_sum(output, target)
    assert total.shape == ()
    assert obj.loss(output, target).item() == pytest.approx(total.item() / n, rel=1e-6)
    # summed in chunks, as validation does, it is the same sum
    chunked = obj.loss_sum(output[:3], target[:3]) + obj.loss_sum(output[3:], target[3:])
    assert chunked.item() == pytest.approx(total.item(), rel=1e-6)


@pytest.mark.parametrize("name", ["cross_entropy", "hinge", "squared_hinge"])
def test_multiclass_targets_encode_as_flat_class_indices(name):
    target = objective(name).encode_targets(torch.tensor([2, 0, 1], dtype=torch.int32))
    assert target.dtype == torch.long
    assert target.tolist() == [2, 0, 1]


def test_binary_targets_encode_as_float_column_with_class_one_positive():
    target = objective("binary_cross_entropy").encode_targets(torch.tensor([1, 0, 0, 1]))
    assert target.dtype == torch.float32
    assert target.shape == (4, 1)
    assert target[:, 0].tolist() == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_targets_encode_as_float_column(name):
    for y in (torch.tensor([[1.0], [2.5]]), torch.tensor([1.0, 2.5], dtype=torch.float64)):
        target = objective(name).encode_targets(y)
        assert target.dtype == torch.float32
        assert target.shape == (2, 1)
        assert target[:, 0].tolist() == [1.0, 2.5]


@pytest.mark.parametrize("name", ["msle", "poisson"])
def test_losses_for_nonnegative_targets_refuse_a_negative_target(name):
    with pytest.raises(DataError, match="negative values; use one of: mse, mae, huber."):
        objective(name).encode_targets(torch.tensor([[1.0], [-0.5]]))


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_losses_without_a_range_take_negative_targets(name):
    assert objective(name).encode_targets(torch.tensor([[-3.0]])).item() == -3.0


def test_cross_entropy_probabilities_are_softmax_and_prediction_their_argmax():
    obj = objective("cross_entropy")
    output, _ = hand_made_case("cross_entropy")
    probs = obj.probabilities(output)
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(dim=1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs.numpy(), softmax(LOGITS), rtol=1e-5)
    assert obj.predict(output).tolist() == [0, 2, 1, 0]


def test_binary_probabilities_are_one_minus_sigmoid_then_sigmoid():
    obj = objective("binary_cross_entropy")
    output = torch.tensor([[1.5], [-0.3], [0.0], [-2.5], [40.0]])
    probs = obj.probabilities(output)
    assert probs.shape == (5, 2)
    np.testing.assert_allclose(probs[:, 1].numpy(), torch.sigmoid(output[:, 0]).numpy(), rtol=1e-6)
    np.testing.assert_allclose(probs.sum(dim=1).numpy(), 1.0, rtol=1e-6)
    assert probs[4, 0].item() > 0  # sigmoid(-40) is tiny, not rounded to 1 - 1 = 0
    assert obj.predict(output).tolist() == [1, 0, 0, 0, 1]  # a 50/50 row goes to class 0
    assert obj.predict(output).dtype == torch.long


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_margin_losses_have_no_probabilities_and_predict_the_largest_output(name):
    output = torch.tensor([[0.1, 2.0, -1.0], [5.0, 4.0, 4.5]])
    assert objective(name).probabilities(output) is None
    assert objective(name).predict(output).tolist() == [1, 0]


def test_regression_predictions_are_the_value_clamped_value_or_rate():
    output = torch.tensor([[-1.0], [0.0], [2.0]])
    assert objective("mse").predict(output)[:, 0].tolist() == [-1.0, 0.0, 2.0]
    assert objective("msle").predict(output)[:, 0].tolist() == [0.0, 0.0, 2.0]
    rates = objective("poisson").predict(output)[:, 0].numpy()
    np.testing.assert_allclose(rates, np.exp([-1.0, 0.0, 2.0]), rtol=1e-6)
    for name in REGRESSION:
        assert objective(name).probabilities(output) is None


def numpy_predict(transform: str, o: np.ndarray) -> np.ndarray:
    """Inference outside torch, from nothing but the transform's name (the contract's NumPy)."""
    if transform in ("identity", "clamp_min0", "exp"):
        return values(transform, o)
    return predicted_classes(transform, o)


@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_output_transform_names_reproduce_predictions_in_numpy(name):
    obj = objective(name)
    output = torch.randn(20, obj.n_outputs, generator=torch.Generator().manual_seed(1)) * 2
    expected = numpy_predict(OUTPUT_TRANSFORMS[name], output.numpy())
    np.testing.assert_allclose(obj.predict(output).numpy(), expected, rtol=1e-6)
    torch_probabilities = obj.probabilities(output)
    numpy_p = numpy_probabilities(OUTPUT_TRANSFORMS[name], output.double().numpy())
    if torch_probabilities is None:
        assert numpy_p is None
    else:
        np.testing.assert_allclose(torch_probabilities.numpy(), numpy_p, rtol=1e-5, atol=1e-7)


def test_every_loss_has_an_output_transform():
    assert set(OUTPUT_TRANSFORMS) == set(CLASSIFICATION + REGRESSION)


@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_gradients_reach_every_parameter_of_a_linear_model(name):
    torch.manual_seed(0)
    obj = objective(name)
    x = torch.randn(16, 3)
    model = torch.nn.Linear(3, obj.n_outputs)
    with torch.no_grad():
        model.bias.fill_(0.5)  # msle passes no gradient through outputs clamped at 0
    if name in REGRESSION:
        y = torch.rand(16, 1) * 3
    else:
        y = torch.arange(16) % (2 if name == "binary_cross_entropy" else 3)
    obj.loss(model(x), obj.encode_targets(y)).backward()
    for param in model.parameters():
        assert torch.isfinite(param.grad).all()
        assert param.grad.abs().sum() > 0


def test_objectives_have_one_output_per_class_except_binary_cross_entropy():
    for name, n_classes, n_outputs in [
        ("cross_entropy", 5, 5),
        ("squared_hinge", 4, 4),
        ("binary_cross_entropy", 2, 1),
    ]:
        obj = build_objective(name, "classification", n_classes)
        assert (obj.n_classes, obj.n_outputs) == (n_classes, n_outputs)
    regression = build_objective("poisson", "regression", None)
    assert (regression.n_classes, regression.n_outputs) == (None, 1)
    assert build_objective("hinge", "classification", 2).task == "classification"
    assert build_objective("huber", "regression", None).task == "regression"


def test_binary_cross_entropy_with_three_classes_is_refused_naming_the_losses_that_fit():
    with pytest.raises(DataError, match="exactly 2 classes") as err:
        build_objective("binary_cross_entropy", "classification", 3)
    assert "has 3" in str(err.value)
    assert "cross_entropy, hinge, squared_hinge" in str(err.value)


def test_a_loss_for_the_other_task_is_refused_naming_the_losses_that_fit():
    with pytest.raises(ValueError, match="mse does not fit a classification target") as err:
        build_objective("mse", "classification", 2)
    assert "cross_entropy, binary_cross_entropy, hinge, squared_hinge" in str(err.value)
    with pytest.raises(ValueError, match="use one of: mse, mae, huber, msle, poisson"):
        build_objective("hinge", "regression", None)


def test_unknown_loss_and_impossible_class_counts_are_refused():
    with pytest.raises(ValueError, match="unknown loss 'logcosh'; choose one of: cross_entropy"):
        build_objective("logcosh", "regression", None)
    with pytest.raises(DataError, match="at least 2 classes"):
        build_objective("cross_entropy", "classification", 1)
    with pytest.raises(DataError, match="at least 2 classes"):
        build_objective("hinge", "classification", None)
    with pytest.raises(ValueError, match="no classes"):
        build_objective("mse", "regression", 3)
    with pytest.raises(ValueError, match="unknown task 'ranking'; choose one of: classification"):
        build_objective("mse", "ranking", None)


def test_the_engine_builds_exactly_the_losses_the_contract_offers():
    assert LOSSES_BY_TASK == {"classification": CLASSIFICATION, "regression": REGRESSION}
    for task, names in LOSSES_BY_TASK.items():
        for name in names:
            assert build_objective(name, task, 2 if task == "classification" else None).task == task


def train(obj, x, y, steps=300, lr=0.05, bias=None):
    """Full-batch Adam on a linear model; returns the model."""
    torch.manual_seed(0)
    model = torch.nn.Linear(x.shape[1], obj.n_outputs)
    if bias is not None:
        with torch.no_grad():
            model.bias.fill_(bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    target = obj.encode_targets(y)
    for _ in range(steps):
        optimizer.zero_grad()
        obj.loss(model(x), target).backward()
        optimizer.step()
    return model


def blobs(n_classes: int, per_class=100, seed=0):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])[:n_classes]
    y = torch.arange(n_classes).repeat_interleave(per_class)
    return centers[y] + 0.7 * torch.randn(len(y), 2, generator=gen), y


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_linear_model_separates_blobs_with_each_classification_loss(name):
    obj = objective(name, n_classes=4)
    x, y = blobs(2 if name == "binary_cross_entropy" else 4)
    model = train(obj, x, y, steps=200)
    with torch.no_grad():
        accuracy = (obj.predict(model(x)) == y).float().mean().item()
    assert accuracy >= 0.95


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_linear_model_recovers_a_line_with_each_distance_loss(name):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 2, generator=gen)
    y = x @ torch.tensor([[1.5], [-2.0]]) + 0.5 + 0.05 * torch.randn(500, 1, generator=gen)
    model = train(objective(name), x, y, steps=400)
    np.testing.assert_allclose(model.weight.detach()[0].numpy(), [1.5, -2.0], atol=0.1)
    assert model.bias.item() == pytest.approx(0.5, abs=0.1)


def test_poisson_loss_recovers_the_rates_of_a_poisson_glm():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 2, generator=gen)
    true_log_rate = 0.5 + x @ torch.tensor([[0.3], [-0.4]])
    y = torch.poisson(true_log_rate.exp(), generator=gen)
    obj = objective("poisson")
    model = train(obj, x, y, steps=300)
    np.testing.assert_allclose(model.weight.detach()[0].numpy(), [0.3, -0.4], atol=0.06)
    assert model.bias.item() == pytest.approx(0.5, abs=0.06)
    with torch.no_grad():
        rates = obj.predict(model(x))
    # with an intercept the fitted rates sum to the observed counts (the GLM score equation)
    assert rates.sum().item() == pytest.approx(y.sum().item(), rel=0.01)


def test_msle_fits_positive_targets_in_relative_terms():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(300, 1, generator=gen)
    y = 1.0 + 4.0 * x
    obj = objective("msle")
    # starting above 0: where the clamp holds an output at 0 no gradient flows
    model = train(obj, x, y, steps=400, lr=0.1, bias=1.0)
    with torch.no_grad():
        predicted = obj.predict(model(x))
    assert (predicted / y - 1).abs().max().item() < 0.05
