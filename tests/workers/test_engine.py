"""The engine on its own: pure PyTorch, no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from workers.contract.splits import split_indices
from workers.engine import Callback, DataError, Diverged, Stop, fit, prepare

CPU = torch.device("cpu")


def schema_for(table: dict) -> list[dict]:
    return [
        {"name": name, "dtype": "numeric" if values.dtype.kind == "f" else "categorical"}
        for name, values in table.items()
    ]


def config(**overrides) -> dict:
    """A complete run spec, as downhill.experiments.config.normalize_config returns it."""
    base = {
        "target": "y", "task": "regression", "model": {"type": "linear"}, "init": {"type": "default"},
        "loss": "mse", "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.0, "nesterov": False,
        "weight_decay": 0.0, "gradient_clipping": None, "batch_size": 32, "batch_size_schedule": None,
        "epochs": 5, "lr_schedule": {"type": "constant", "warmup_epochs": 0}, "optimizer_switch": None,
        "early_stopping": None, "swa": None, "validation_split": 0.2, "seed": 3, "precision": "fp32",
    }  # fmt: skip
    return {**base, **overrides}


def linear_table(n=400, d=3, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1][:d] + 5.0
    y = x @ np.arange(1, d + 1) + noise * rng.normal(size=n)
    table = {f"x{i}": x[:, i] for i in range(d)}
    table["y"] = y
    return table


class Recorder(Callback):
    def __init__(self, stop_after_step: int | None = None):
        self.points: list[tuple[int, float, float]] = []
        self.epochs: list[dict] = []
        self.stop_after_step = stop_after_step

    def on_steps(self, state, points):
        self.points.extend(points)
        if self.stop_after_step and state.step >= self.stop_after_step:
            state.request_stop(Stop.CANCEL)

    def on_epoch_end(self, state, metrics):
        self.epochs.append(metrics)


def test_full_batch_gradient_descent_on_linear_model_reaches_least_squares():
    table = linear_table(d=2)
    data = prepare(table, schema_for(table), config(validation_split=0.0))
    cfg = config(validation_split=0.0, batch_size="full", epochs=400, learning_rate=0.5)
    result = fit(cfg, data, device=CPU)

    x = data.x_train.double().numpy()
    design = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(design, data.y_train.double().numpy(), rcond=None)
    layer = result.model[0]
    learned = np.concatenate(
        [layer.weight.detach().double().numpy().ravel(), layer.bias.detach().double().numpy()]
    )
    np.testing.assert_allclose(learned, solution.ravel(), atol=1e-3)
    assert result.summary["steps_per_epoch"] == 1


def test_same_seed_gives_identical_series_and_another_seed_does_not():
    table = linear_table()
    runs = []
    for seed in (11, 11, 12):
        cfg = config(seed=seed, model={"type": "mlp", "hidden": [8], "activation": "tanh"})
        recorder = Recorder()
        fit(cfg, prepare(table, schema_for(table), cfg), [recorder], device=CPU)
        runs.append([loss for _, loss, _ in recorder.points])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_every_step_reported_once_in_order_with_its_learning_rate():
    table = linear_table(n=100)
    cfg = config(batch_size=16, epochs=3, validation_split=0.2)  # 80 train rows -> 5 steps/epoch
    recorder = Recorder()
    result = fit(cfg, prepare(table, schema_for(table), cfg), [recorder], device=CPU)
    assert [s for s, _, _ in recorder.points] == list(range(1, 16))
    assert {lr for _, _, lr in recorder.points} == {0.1}
    assert len(recorder.epochs) == 3 and all("val_loss" in m for m in recorder.epochs)
    assert result.summary["best_val_loss"] == min(m["val_loss"] for m in recorder.epochs)


def test_loss_becoming_infinite_raises_diverged_naming_step_and_learning_rate():
    table = linear_table()
    cfg = config(learning_rate=1e4)
    recorder = Recorder()
    with pytest.raises(Diverged) as caught:
        fit(cfg, prepare(table, schema_for(table), cfg), [recorder], device=CPU)
    message = str(caught.value)
    step = int(message.split("at step ")[1].split(" ")[0])
    assert "learning rate" in message and "1000" in message  # suggests a tenth of 1e4
    assert [s for s, _, _ in recorder.points] == list(range(1, step))
    assert all(math.isfinite(v) for _, v, _ in recorder.points)


def test_validation_loss_becoming_non_finite_raises_diverged_with_its_step():
    table = linear_table()
    cfg = config(
        batch_size="full", learning_rate=1e6
    )  # one step per epoch: validation sees it first
    with pytest.raises(Diverged) as caught:
        fit(cfg, prepare(table, schema_for(table), cfg), device=CPU)
    assert "validation loss" in str(caught.value)
    assert caught.value.step == int(str(caught.value).split("at step ")[1].split(" ")[0])


def test_callback_stop_request_ends_training_early():
    table = linear_table(n=2000)
    cfg = config(batch_size=1, epochs=50)
    recorder = Recorder(stop_after_step=1)
    result = fit(
        cfg, prepare(table, schema_for(table), cfg), [recorder], device=CPU, sync_seconds=0.0
    )
    assert result.summary["stop_reason"] == "cancelled"
    assert result.state.step == 1  # synced after every step, so it stops after the first


def test_classification_learns_iris_with_stratified_split():
    from sklearn.datasets import load_iris

    iris = load_iris()
    table = {f"f{i}": iris.data[:, i] for i in range(4)}
    table["species"] = np.array([iris.target_names[t] for t in iris.target], dtype=object)
    cfg = config(target="species", task="classification", loss="cross_entropy", optimizer="adam",
                 learning_rate=0.01, epochs=40, model={"type": "mlp", "hidden": [16], "activation": "relu"})  # fmt: skip
    data = prepare(table, schema_for(table), cfg)
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert torch.bincount(data.y_val).tolist() == [10, 10, 10]  # stratified: 20 % of each class
    result = fit(cfg, data, device=CPU)
    assert result.summary["val_accuracy"] >= 0.9


def test_preprocessing_is_fitted_on_the_training_split_only():
    n = 100
    table = {"x": np.arange(n, dtype=np.float64), "c": np.array(["a"] * 90 + ["b"] * 10, dtype=object),
             "y": np.arange(n, dtype=np.float64)}  # fmt: skip
    table["x"][5] = np.nan
    cfg = config(validation_split=0.3)
    data = prepare(table, schema_for(table), cfg)
    train, _, _ = split_indices(n, 0.3, cfg["seed"], None)
    x_train = table["x"][train]
    x_train_finite = x_train[~np.isnan(x_train)]
    numeric = data.preprocessing["features"][0]
    assert numeric["median"] == pytest.approx(np.median(x_train_finite))
    filled = np.where(np.isnan(x_train), np.median(x_train_finite), x_train)
    assert numeric["mean"] == pytest.approx(filled.mean())
    assert data.x_train[:, 0].mean().item() == pytest.approx(0.0, abs=1e-5)
    categorical = data.preprocessing["features"][1]
    assert categorical["categories"] == sorted(set(table["c"][train]))
    assert data.n_features == 1 + len(categorical["categories"])


@pytest.mark.parametrize(
    "labels", [None, np.array([0] * 70 + [1] * 30)], ids=["plain", "stratified"]
)
def test_a_test_split_is_drawn_apart_and_leaves_the_validation_rows_as_they_were(labels):
    train, val, test = split_indices(100, 0.2, 5, labels, test_split=0.1)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert sorted(np.concatenate([train, val, test])) == list(range(100))  # each row once
    if labels is not None:  # 10 % of each class
        assert np.bincount(labels[test]).tolist() == [7, 3]
    _, val_alone, test_alone = split_indices(100, 0.2, 5, labels)
    assert val.tolist() == val_alone.tolist() and len(test_alone) == 0


def test_the_final_model_is_measured_once_on_the_test_rows_which_shape_nothing():
    table = linear_table(n=200)
    table["x0"][:40] = np.nan  # imputed with the training median: test rows must not move it
    cfg = config(validation_split=0.2, test_split=0.25, epochs=8)
    data = prepare(table, schema_for(table), cfg)
    train, _, test = split_indices(200, 0.2, cfg["seed"], None, test_split=0.25)
    x0 = table["x0"][train]
    assert data.preprocessing["features"][0]["median"] == pytest.approx(np.nanmedian(x0))
    recorder = Recorder()
    result = fit(cfg, data, [recorder], device=CPU)

    assert result.summary["rows"] == {"train": 110, "validation": 40, "test": 50}
    assert len(recorder.epochs) == 8 and all("test_loss" not in e for e in recorder.epochs)
    predicted = result.model(data.x_test).detach().numpy().ravel()
    errors = predicted - table["y"][test]
    metrics = result.summary["test_metrics"]
    assert set(metrics) == {"test_loss", "test_mae", "test_rmse", "test_r2"}
    assert metrics["test_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-4)
    assert metrics["test_mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-4)


def test_a_single_class_target_is_refused():
    table = {"x": np.arange(10, dtype=np.float64), "y": np.array(["same"] * 10, dtype=object)}
    cfg = config(task="classification", loss="cross_entropy")
    with pytest.raises(DataError, match="single class"):
        prepare(table, schema_for(table), cfg)


def test_rows_with_a_missing_numeric_class_label_are_left_out():
    labels = np.array([0, 1, 2, np.nan] * 10, dtype=np.float64)
    table = {"x": np.arange(40, dtype=np.float64), "y": labels}
    cfg = config(task="classification", loss="cross_entropy", validation_split=0.0)
    data = prepare(table, schema_for(table), cfg)
    assert data.classes == ["0", "1", "2"]
    assert len(data.x_train) == 30


def test_a_text_column_with_a_value_per_row_is_ignored_not_one_hot_encoded():
    n = 400
    table = linear_table(n=n)
    table["row_id"] = np.array([f"id-{i}" for i in range(n)], dtype=object)
    table["colour"] = np.array(["red", "green", None, "blue"] * (n // 4), dtype=object)
    cfg = config()
    data = prepare(table, schema_for(table), cfg)
    assert "row_id" in data.preprocessing["ignored_columns"]
    kept = [f["name"] for f in data.preprocessing["features"]]
    assert kept == ["x0", "x1", "x2", "colour"]
    assert data.n_features == 3 + 4  # red, green, blue and (missing)
    onehot = data.x_train[:, 3:]
    assert torch.all(onehot.sum(dim=1) == 1)
    result = fit(cfg, data, device=CPU)
    assert "row_id" in result.summary["ignored_columns"]


def test_every_optimizer_a_config_may_name_is_built_by_the_engine():
    from workers.contract.choices import OPTIMIZERS as NAMES
    from workers.engine.optimizers import OPTIMIZERS

    assert set(OPTIMIZERS) == set(NAMES)
    params = [torch.nn.Parameter(torch.zeros(2))]
    for name in NAMES:
        optimizer = OPTIMIZERS[name](params, config(optimizer=name, momentum=0.9), 0.1, 0.0)
        assert optimizer.param_groups[0]["lr"] == 0.1
