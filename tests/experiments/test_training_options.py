"""The engine's settings through POST /api/v1/experiments/: defaults filled in, bad values
refused with a 400 that names the setting."""

from __future__ import annotations

import pytest

from tests.experiments.test_create import assert_refused, create


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"type": "step"}, {"type": "step", "every_epochs": 10, "gamma": 0.1, "warmup_epochs": 0}),
        (
            {"type": "exponential", "gamma": 0.9},
            {"type": "exponential", "gamma": 0.9, "warmup_epochs": 0},
        ),
        (
            {"type": "cosine", "warmup_epochs": 2},
            {"type": "cosine", "min_lr": 0.0, "warmup_epochs": 2},
        ),
        (
            {"type": "warm_restarts", "first_cycle_epochs": 5},
            {
                "type": "warm_restarts",
                "first_cycle_epochs": 5,
                "cycle_mult": 2.0,
                "min_lr": 0.0,
                "warmup_epochs": 0,
            },
        ),
        (
            {"type": "cyclic", "max_lr": 0.1},
            {
                "type": "cyclic",
                "mode": "triangular",
                "min_lr": 0.001,
                "max_lr": 0.1,
                "half_cycle_epochs": 2.0,
                "warmup_epochs": 0,
            },
        ),
        ({"type": "one_cycle"}, {"type": "one_cycle", "max_lr": 0.01, "warmup_epochs": 0}),
        (
            {"type": "plateau"},
            {
                "type": "plateau",
                "factor": 0.1,
                "patience_epochs": 5,
                "min_lr": 1e-5,
                "warmup_epochs": 0,
            },
        ),
    ],
    ids=lambda value: value.get("type") if isinstance(value, dict) else None,
)
def test_each_lr_schedule_echoes_its_parameters_with_defaults(api, iris, given, expected):
    response = create(api, {"dataset": iris, "optimizer": "sgd", "lr_schedule": given})
    assert response.status_code == 201, response.content
    assert response.json()["config"]["lr_schedule"] == pytest.approx(expected)


def test_optional_sections_echo_their_defaults(api, iris):
    config = create(
        api,
        {"dataset": iris, "epochs": 40, "optimizer": "adam", "early_stopping": {},
         "optimizer_switch": {"at_epoch": 30}, "batch_size_schedule": {}, "init": "he_normal"},
    ).json()["config"]  # fmt: skip
    assert config["early_stopping"] == {
        "patience_epochs": 5,
        "min_delta": 0.0,
        "monitor": "val_loss",
        "restore_best": True,
    }
    assert config["optimizer_switch"] == {
        "at_epoch": 30,
        "optimizer": "sgd",
        "learning_rate": 0.01,
        "momentum": 0.9,
    }
    assert config["batch_size_schedule"] == {"every_epochs": 5, "factor": 2.0, "max": 1024}
    assert config["init"] == {"type": "he_normal"}


@pytest.mark.parametrize(
    ("config", "field", "mentions"),
    [
        ({"lr_schedule": {"type": "sawtooth"}}, "lr_schedule", "constant"),
        ({"lr_schedule": {"type": "step", "gamma": 0}}, "lr_schedule", "gamma"),
        ({"lr_schedule": {"type": "step", "every": 3}}, "lr_schedule", "unknown key"),
        (
            {"lr_schedule": {"type": "cyclic", "min_lr": 0.5, "max_lr": 0.1}},
            "lr_schedule",
            "below max_lr",
        ),
        (
            {"lr_schedule": {"type": "warm_restarts", "cycle_mult": 0.5}},
            "lr_schedule",
            "cycle_mult",
        ),
        (
            {"lr_schedule": {"type": "plateau"}, "validation_split": 0},
            "lr_schedule",
            "validation_split",
        ),
        ({"lr_schedule": {"type": "cosine", "min_lr": 5}}, "lr_schedule", "min_lr"),
        (
            {"gradient_clipping": {"max_norm": 1, "max_value": 1}},
            "gradient_clipping",
            "exactly one",
        ),
        ({"gradient_clipping": {"max_norm": -1}}, "gradient_clipping", "max_norm"),
        ({"batch_size": "full", "batch_size_schedule": {}}, "batch_size_schedule", "full"),
        (
            {"batch_size": 64, "batch_size_schedule": {"max": 32}},
            "batch_size_schedule",
            "at least batch_size",
        ),
        ({"optimizer_switch": {"optimizer": "sgd"}}, "optimizer_switch", "at_epoch is required"),
        ({"optimizer_switch": {"at_epoch": 1}}, "optimizer_switch", "at least 2"),
        (
            {"optimizer_switch": {"at_epoch": 5, "optimizer": "adam", "momentum": 0.9}},
            "optimizer_switch",
            "momentum",
        ),
        ({"early_stopping": {"monitor": "val_f1"}}, "early_stopping", "val_loss"),
        ({"early_stopping": {}, "validation_split": 0}, "early_stopping", "validation_split"),
        ({"epochs": 20, "swa": {"start_epoch": 99}}, "swa", "at most 20"),
        ({"swa": {}, "early_stopping": {}}, "swa", "restore_best"),
        ({"init": "lecun"}, "init", "xavier_uniform"),
        ({"init": {"type": "normal", "std": 0}}, "init", "std"),
        ({"model": {"type": "cnn"}}, "model", "image dataset"),
        ({"model": {"type": "mlp", "dropout": 1}}, "model", "dropout"),
        ({"model": {"type": "mlp", "batch_norm": "yes"}}, "model", "batch_norm"),
        ({"loss": "binary_cross_entropy"}, "loss", "cross_entropy"),
        ({"loss": "mse"}, "loss", "classification"),
        ({"precision": "fp8"}, "precision", "bf16"),
        ({"optimizer": "lion"}, "optimizer", "adadelta"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(api, iris, config, field, mentions):
    assert_refused(create(api, {"dataset": iris, **config}), field, mentions=mentions)


def test_losses_for_counts_refuse_a_target_that_goes_negative(api, upload):
    rows = [["x", "y"]] + [[i, i - 50.5] for i in range(100)]
    dataset = upload(rows).json()["id"]
    for loss in ("poisson", "msle"):
        assert_refused(create(api, {"dataset": dataset, "loss": loss}), "loss", mentions="mse")


def test_binary_cross_entropy_fits_a_two_class_target(api, upload):
    rows = [["x", "label"]] + [[i, "ab"[i % 2]] for i in range(40)]
    dataset = upload(rows).json()["id"]
    response = create(
        api, {"dataset": dataset, "loss": "binary_cross_entropy", "optimizer": "adadelta"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["config"]["learning_rate"] == 1.0


def test_swa_starts_at_three_quarters_of_the_run_at_the_learning_rate_by_default(api, iris):
    config = create(api, {"dataset": iris, "epochs": 40, "swa": {}}).json()["config"]
    assert config["swa"] == {"start_epoch": 30, "lr": 0.001}


def test_preview_plots_the_learning_rate_and_creates_nothing(api, iris):
    from downhill.experiments.models import Experiment

    body = {"dataset": iris, "optimizer": "sgd", "learning_rate": 0.1, "epochs": 10,
            "lr_schedule": {"type": "step", "every_epochs": 5, "gamma": 0.5}}  # fmt: skip
    response = api.post("/api/v1/experiments/preview/", body, format="json")
    assert response.status_code == 200, response.content
    preview = response.json()
    assert preview["epoch_steps"] == [4] * 10 and preview["total_steps"] == 40  # 120 rows / 32
    assert preview["lr"]["steps"] == list(range(1, 41))
    assert preview["lr"]["values"] == [0.1] * 20 + [0.05] * 20
    assert Experiment.objects.count() == 0


def test_preview_plans_the_steps_on_the_rows_left_after_validation_and_test(api, iris):
    body = {"dataset": iris, "epochs": 2, "validation_split": 0.2, "test_split": 0.2}
    preview = api.post("/api/v1/experiments/preview/", body, format="json").json()
    assert preview["epoch_steps"] == [3, 3]  # 150 - 30 - 30 = 90 rows / 32


def test_preview_refuses_a_bad_config_like_create(api, iris):
    response = api.post(
        "/api/v1/experiments/preview/",
        {"dataset": iris, "lr_schedule": {"type": "x"}},
        format="json",
    )
    assert response.status_code == 400 and "lr_schedule" in response.json()["errors"]
