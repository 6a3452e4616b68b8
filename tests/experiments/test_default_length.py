"""An unset `epochs` follows the data (a budget of optimizer steps with a floor) and brings early
stopping with restore-best where there is a validation split; an explicit `epochs` means exactly
that. The echoed config holds what it resolved to, the preview says why in words."""

from __future__ import annotations

import pytest

from workers.contract.spec import length

pytestmark = pytest.mark.django_db

URL = "/api/v1/experiments/"


def create(api, config) -> dict:
    response = api.post(URL, config, format="json")
    assert response.status_code == 201, response.content
    return response.json()["config"]


def test_unset_epochs_resolve_to_the_step_budget_on_150_rows(api, iris):
    config = create(api, {"dataset": iris})

    # 150 rows, 30 held out: 120 train at batch 32 are 4 steps an epoch.
    assert config["epochs"] == length.STEP_BUDGET // 4
    assert config["early_stopping"] == {
        "patience_epochs": round(config["epochs"] * length.PATIENCE_SHARE),
        "min_delta": 0.0, "monitor": "val_loss", "restore_best": True,
    }  # fmt: skip


def test_an_explicit_epochs_means_exactly_that_without_early_stopping(api, iris):
    config = create(api, {"dataset": iris, "epochs": 20})

    assert config["epochs"] == 20
    assert config["early_stopping"] is None


def test_the_echoed_config_sent_again_gives_the_same_config(api, iris):
    first = create(api, {"dataset": iris, "seed": 5})

    assert create(api, first) == first


def test_a_larger_batch_makes_more_epochs_for_the_same_steps(api, iris):
    config = create(api, {"dataset": iris, "batch_size": 64})  # 2 steps an epoch

    assert config["epochs"] == min(length.MAX_EPOCHS, length.STEP_BUDGET // 2)


def test_full_batch_is_capped_at_the_most_epochs(api, iris):
    config = create(api, {"dataset": iris, "batch_size": "full"})  # 1 step an epoch

    assert config["epochs"] == length.MAX_EPOCHS


def test_many_rows_keep_the_floor_of_epochs(api, upload):
    rows = [["x", "y"]] + [[i / 10, (i % 7) * 1.5] for i in range(6000)]
    dataset = upload(rows, name="many.csv").json()["id"]

    config = create(api, {"dataset": dataset})  # 4,800 train rows: 150 steps an epoch

    assert config["epochs"] == length.MIN_EPOCHS
    assert config["early_stopping"]["patience_epochs"] == length.PATIENCE_FLOOR


def test_an_explicit_null_keeps_early_stopping_off(api, iris):
    config = create(api, {"dataset": iris, "early_stopping": None})

    assert config["epochs"] == length.STEP_BUDGET // 4
    assert config["early_stopping"] is None


def test_the_users_early_stopping_is_kept_as_given(api, iris):
    config = create(api, {"dataset": iris, "early_stopping": {"patience_epochs": 3}})

    assert config["early_stopping"]["patience_epochs"] == 3


@pytest.mark.parametrize(
    "extra",
    [
        {"validation_split": 0},
        {"swa": {}},  # the average is the final model: restore-best cannot choose it
        {"optimizer_switch": {"at_epoch": 10}},  # its epochs are the user's plan
    ],
    ids=["no-validation", "swa", "optimizer-switch"],
)
def test_no_early_stopping_is_added_where_it_cannot_or_should_not_watch(api, iris, extra):
    config = create(api, {"dataset": iris, **extra})

    assert config["early_stopping"] is None
    assert config["epochs"] >= length.MIN_EPOCHS


def test_swa_follows_the_resolved_epochs(api, iris):
    config = create(api, {"dataset": iris, "swa": {}})

    assert config["swa"]["start_epoch"] == round(config["epochs"] * 0.75)


def test_the_preview_says_what_epochs_resolved_to(api, iris):
    response = api.post("/api/v1/experiments/preview/", {"dataset": iris}, format="json")

    assert response.status_code == 200, response.content
    preview = response.json()
    epochs = preview["config"]["epochs"]
    assert preview["epoch_steps"] == [4] * epochs
    text = preview["resolved"]["epochs"]
    assert f"{epochs} epochs of 4 steps" in text
    assert "120 training rows at batch 32" in text
    assert "stopping early" in text


def test_the_preview_resolves_nothing_for_an_explicit_epochs(api, iris):
    body = {"dataset": iris, "epochs": 7}

    preview = api.post("/api/v1/experiments/preview/", body, format="json").json()

    assert preview["resolved"] == {}
    assert preview["total_steps"] == 28


def test_a_tiny_dataset_resolves_within_the_bounds(api, upload):
    rows = [["x", "y"]] + [[float(i), float(i % 3)] for i in range(12)]
    dataset = upload(rows, name="tiny.csv").json()["id"]

    config = create(api, {"dataset": dataset, "task": "regression"})

    assert length.MIN_EPOCHS <= config["epochs"] <= length.MAX_EPOCHS
