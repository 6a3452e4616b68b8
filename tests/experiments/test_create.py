"""POST /api/v1/experiments/: a config becomes an experiment with every default filled in and
a queued run, enqueued by task name after the commit; a bad config creates nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from downhill.datasets.models import Dataset
from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from tests.conftest import csv_file, iris_rows
from workers.contract.spec import length
from workers.contract.tasks import TRAIN_RUN_TASK, TRAINING_QUEUE

pytestmark = pytest.mark.django_db

URL = "/api/v1/experiments/"


def create(api, config):
    return api.post(URL, config, format="json")


def assert_refused(response, *fields: str, mentions: str = "") -> None:
    """A 400 naming each field, and no experiment or run left behind."""
    assert response.status_code == 400, response.content
    body = response.json()
    for field in fields:
        assert field in body["errors"], body
        if field != "non_field_errors":
            assert f"{field}: " in body["detail"], body
    if mentions:
        assert mentions.lower() in body["detail"].lower(), body
    assert Experiment.objects.count() == 0
    assert Run.objects.count() == 0


# --- created ------------------------------------------------------------------------------


def test_create_echoes_the_full_config_with_defaults_and_the_run_id(api, iris):
    response = create(api, {"dataset": iris})

    assert response.status_code == 201, response.content
    body = response.json()
    config = body["config"]
    assert config["dataset"] == iris
    assert config["target"] == "species"
    assert config["task"] == "classification"
    assert config["loss"] == "cross_entropy"
    assert config["optimizer"] == "adam"
    assert config["learning_rate"] == 0.001
    assert config["momentum"] is None
    assert config["nesterov"] is False
    assert config["weight_decay"] == 0.0
    assert config["batch_size"] == 32
    assert config["epochs"] == length.default_epochs(120, 32)  # follows the rows: 150 − 30 held out
    assert config["validation_split"] == 0.2
    assert config["model"] == {
        "type": "mlp", "hidden": [64, 64], "activation": "relu", "dropout": 0.0, "batch_norm": False,
    }  # fmt: skip
    assert config["init"] == {"type": "default"}
    assert config["lr_schedule"] == {"type": "constant", "warmup_epochs": 0}
    assert config["precision"] == "fp32"
    for absent in (
        "gradient_clipping",
        "batch_size_schedule",
        "optimizer_switch",
        "swa",
    ):
        assert config[absent] is None
    assert config["early_stopping"] == length.default_early_stopping(config)
    assert isinstance(config["seed"], int) and 0 <= config["seed"] < 2**31
    assert body["dataset"] == iris
    assert body["runs"] == [body["run"]]
    assert body["name"]
    assert "created_at" in body


def test_create_queues_one_run_of_the_experiment(api, iris):
    body = create(api, {"dataset": iris, "epochs": 7}).json()

    run = Run.objects.get(pk=body["run"])
    assert run.experiment_id == body["id"]
    assert run.status == Run.Status.QUEUED
    assert run.epochs == 7
    assert run.started_at is None
    stored = Experiment.objects.get(pk=body["id"])
    assert stored.config == body["config"]
    assert stored.owner.username == "ada"


def test_create_keeps_the_values_a_user_gave(api, diabetes):
    config = {
        "dataset": diabetes,
        "model": {"type": "mlp", "hidden": [16], "activation": "tanh", "dropout": 0.1, "batch_norm": True},
        "init": {"type": "normal", "std": 0.05},
        "loss": "huber", "target_scaling": "none", "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
        "nesterov": True, "weight_decay": 1e-4, "gradient_clipping": {"max_norm": 5.0},
        "batch_size": 64, "batch_size_schedule": {"every_epochs": 2, "factor": 2.0, "max": 256},
        "epochs": 5, "validation_split": 0.25, "test_split": 0.1, "seed": 1234, "precision": "bf16",
        "lr_schedule": {"type": "cosine", "min_lr": 0.001, "warmup_epochs": 1},
        "optimizer_switch": {"at_epoch": 3, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.5},
        "early_stopping": {"patience_epochs": 2, "min_delta": 0.01, "monitor": "val_loss", "restore_best": False},
        "swa": {"start_epoch": 4, "lr": 0.02}, "distributed": {"nodes": 2, "procs_per_node": 3},
    }  # fmt: skip
    body = create(api, {**config, "name": "sgd with nesterov"}).json()

    assert body["name"] == "sgd with nesterov"
    assert body["config"] == {**config, "target": "progression", "task": "regression"}


def test_create_defaults_the_regression_loss_to_mse(api, diabetes):
    config = create(api, {"dataset": diabetes}).json()["config"]

    assert config["task"] == "regression"
    assert config["loss"] == "mse"


@pytest.mark.parametrize(
    ("optimizer", "rate"), [("sgd", 0.01), ("adam", 0.001), ("rmsprop", 0.001), ("adagrad", 0.01)]
)
def test_create_defaults_the_learning_rate_per_optimizer(api, iris, optimizer, rate):
    config = create(api, {"dataset": iris, "optimizer": optimizer}).json()["config"]

    assert config["learning_rate"] == rate


def test_create_fills_momentum_zero_for_sgd_and_rmsprop(api, iris):
    assert create(api, {"dataset": iris, "optimizer": "sgd"}).json()["config"]["momentum"] == 0.0
    assert (
        create(api, {"dataset": iris, "optimizer": "rmsprop"}).json()["config"]["momentum"] == 0.0
    )


def test_create_fills_a_different_seed_for_each_experiment_and_keeps_a_given_one(api, iris):
    seeds = {create(api, {"dataset": iris}).json()["config"]["seed"] for _ in range(3)}
    assert len(seeds) > 1
    assert create(api, {"dataset": iris, "seed": 0}).json()["config"]["seed"] == 0


def test_create_accepts_full_batch(api, iris):
    assert (
        create(api, {"dataset": iris, "batch_size": "full"}).json()["config"]["batch_size"]
        == "full"
    )


def test_create_uses_a_chosen_target_and_infers_its_task(api, iris):
    config = create(api, {"dataset": iris, "target": "petal_width"}).json()["config"]

    assert config["target"] == "petal_width"
    assert config["task"] == "regression"
    assert config["loss"] == "mse"


def test_create_accepts_a_linear_model_by_name(api, iris):
    config = create(api, {"dataset": iris, "model": "linear"}).json()["config"]

    assert config["model"] == {"type": "linear"}


def test_create_enqueues_the_run_by_task_name_only_after_commit(
    api, iris, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = create(api, {"dataset": iris}).json()
    assert sent_tasks == []

    for callback in callbacks:
        callback()

    assert len(sent_tasks) == 1
    assert sent_tasks[0]["name"] == TRAIN_RUN_TASK
    assert sent_tasks[0]["args"] == [body["run"]]
    assert sent_tasks[0]["queue"] == TRAINING_QUEUE


def test_a_run_the_broker_could_not_take_stays_queued_and_the_sweep_sends_it_later(
    api, iris, monkeypatch, django_capture_on_commit_callbacks, client, user
):
    from downhill.celery import app
    from downhill.dispatch import runs_send_unsent

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(app, "send_task", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        response = create(api, {"dataset": iris})

    assert response.status_code == 201
    run = Run.objects.get(pk=response.json()["run"])
    assert (run.status, run.sent_at, run.error) == (Run.Status.QUEUED, None, "")
    client.force_login(user)
    assert "Not sent to the task broker yet" in client.get(f"/runs/{run.id}/").content.decode()
    assert runs_send_unsent() == [run.id]  # still down: tried, and still unsent
    assert Run.objects.get(pk=run.id).sent_at is None

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    assert runs_send_unsent() == [run.id]  # the broker is back
    assert [(name, options["args"]) for name, options in sent] == [(TRAIN_RUN_TASK, [run.id])]
    assert Run.objects.get(pk=run.id).sent_at is not None
    assert runs_send_unsent() == []  # sent once, not at every sweep


def test_queue_another_run_of_an_experiment(
    api, iris, sent_tasks, django_capture_on_commit_callbacks
):
    experiment = create(api, {"dataset": iris}).json()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{experiment['id']}/runs/")

    assert response.status_code == 201, response.content
    run = response.json()
    assert run["status"] == "queued"
    assert run["experiment"] == experiment["id"]
    assert run["id"] != experiment["run"]
    assert [task["args"] for task in sent_tasks] == [[run["id"]]]
    runs = api.get(f"{URL}{experiment['id']}/").json()["runs"]
    assert runs == sorted([experiment["run"], run["id"]])


def test_another_run_of_an_experiment_is_a_new_run_at_its_first_attempt(api, iris):
    # `attempt` counts worker attempts at one run (a lost worker's run resumes as attempt 2),
    # not runs of an experiment.
    experiment = create(api, {"dataset": iris}).json()

    second = api.post(f"{URL}{experiment['id']}/runs/").json()

    assert Run.objects.get(pk=experiment["run"]).attempt == 1
    assert (second["attempt"], second["status"]) == (1, "queued")


def test_list_and_retrieve_experiments(api, iris):
    created = create(api, {"dataset": iris, "name": "first"}).json()

    listed = api.get(URL).json()
    assert listed["count"] == 1
    assert listed["results"][0]["id"] == created["id"]
    detail = api.get(f"{URL}{created['id']}/").json()
    assert detail["config"] == created["config"]
    assert detail["runs"] == created["runs"]


# --- refused ------------------------------------------------------------------------------


def test_create_refuses_unknown_keys_naming_each(api, iris, sent_tasks):
    response = create(api, {"dataset": iris, "learning_rte": 0.1, "colour": "blue"})

    assert_refused(response, "learning_rte", "colour")
    assert sent_tasks == []


@pytest.mark.parametrize("rate", [0, 0.0, -0.01], ids=["zero", "zero-float", "negative"])
def test_create_refuses_a_learning_rate_that_is_not_positive(api, iris, rate):
    assert_refused(create(api, {"dataset": iris, "learning_rate": rate}), "learning_rate")


def test_create_refuses_a_learning_rate_given_as_text(api, iris):
    assert_refused(create(api, {"dataset": iris, "learning_rate": "0.1"}), "learning_rate")


@pytest.mark.parametrize(
    "size", [0, -32, 1.5, True, "32"], ids=["zero", "negative", "fraction", "bool", "text"]
)
def test_create_refuses_a_batch_size_that_is_not_a_positive_whole_number(api, iris, size):
    assert_refused(create(api, {"dataset": iris, "batch_size": size}), "batch_size")


@pytest.mark.parametrize("epochs", [0, 2.5, 10_001], ids=["zero", "fraction", "too-many"])
def test_create_refuses_out_of_range_epochs(api, iris, epochs):
    assert_refused(create(api, {"dataset": iris, "epochs": epochs}), "epochs")


@pytest.mark.parametrize("split", [-0.1, 0.95, 1], ids=["negative", "too-large", "one"])
def test_create_refuses_out_of_range_validation_split(api, iris, split):
    assert_refused(create(api, {"dataset": iris, "validation_split": split}), "validation_split")


@pytest.mark.parametrize("split", [-0.1, 0.95], ids=["negative", "too-large"])
def test_create_refuses_out_of_range_test_split(api, iris, split):
    assert_refused(create(api, {"dataset": iris, "test_split": split}), "test_split")


def test_create_refuses_splits_that_leave_less_than_a_tenth_for_training(api, iris):
    response = create(api, {"dataset": iris, "validation_split": 0.5, "test_split": 0.45})
    assert_refused(response, "test_split", mentions="holds out 95% of the rows")
    body = create(api, {"dataset": iris, "validation_split": 0.34, "test_split": 0.56}).json()
    assert (body["config"]["validation_split"], body["config"]["test_split"]) == (0.34, 0.56)


def test_create_refuses_a_dataset_that_does_not_exist(api, iris):
    response = create(api, {"dataset": iris + 1000})

    assert_refused(response, "dataset", mentions=f"no dataset with id {iris + 1000}")


def test_create_refuses_another_users_dataset_as_if_it_did_not_exist(api, other_user):
    grace = APIClient()
    grace.force_authenticate(other_user)
    theirs = grace.post(
        "/api/v1/datasets/", {"file": csv_file(iris_rows())}, format="multipart"
    ).json()["id"]
    missing = theirs + 1000

    refused_theirs = create(api, {"dataset": theirs})
    refused_missing = create(api, {"dataset": missing})

    assert_refused(refused_theirs, "dataset")
    assert_refused(refused_missing, "dataset")
    assert refused_theirs.json()["detail"].replace(str(theirs), "N") == (
        refused_missing.json()["detail"].replace(str(missing), "N")
    )


def test_create_refuses_a_missing_dataset(api):
    assert_refused(create(api, {"optimizer": "sgd"}), "dataset", mentions="required")


def test_create_refuses_a_dataset_id_given_as_text(api, iris):
    assert_refused(create(api, {"dataset": str(iris)}), "dataset")


def test_create_refuses_a_regression_loss_for_a_classification_target(api, iris):
    assert_refused(create(api, {"dataset": iris, "loss": "mse"}), "loss", mentions="classification")


def test_create_refuses_a_classification_loss_for_a_regression_target(api, diabetes):
    assert_refused(
        create(api, {"dataset": diabetes, "loss": "cross_entropy"}), "loss", mentions="regression"
    )


def test_create_refuses_an_unknown_loss(api, iris):
    assert_refused(create(api, {"dataset": iris, "loss": "focal"}), "loss", mentions="unknown loss")


def test_create_refuses_regression_on_a_text_target(api, iris):
    assert_refused(create(api, {"dataset": iris, "task": "regression"}), "task")


def test_create_refuses_classification_of_a_target_with_a_single_class(api, upload):
    dataset = upload([["x", "label"]] + [[i, "same"] for i in range(10)]).json()["id"]

    assert_refused(create(api, {"dataset": dataset}), "target", mentions="single class")


def test_create_refuses_an_unknown_target_column(api, iris):
    assert_refused(
        create(api, {"dataset": iris, "target": "colour"}), "target", mentions="sepal_length"
    )


def test_create_refuses_momentum_with_adam(api, iris):
    assert_refused(create(api, {"dataset": iris, "optimizer": "adam", "momentum": 0.9}), "momentum")


def test_create_refuses_momentum_with_the_default_optimizer(api, iris):
    assert_refused(create(api, {"dataset": iris, "momentum": 0.9}), "momentum")


@pytest.mark.parametrize("momentum", [1, 1.5, -0.1], ids=["one", "above-one", "negative"])
def test_create_refuses_momentum_outside_zero_to_below_one(api, iris, momentum):
    config = {"dataset": iris, "optimizer": "sgd", "momentum": momentum}
    assert_refused(create(api, config), "momentum")


def test_create_refuses_nesterov_without_momentum(api, iris):
    assert_refused(create(api, {"dataset": iris, "optimizer": "sgd", "nesterov": True}), "nesterov")


def test_create_refuses_nesterov_with_rmsprop(api, iris):
    config = {"dataset": iris, "optimizer": "rmsprop", "momentum": 0.9, "nesterov": True}
    assert_refused(create(api, config), "nesterov")


def test_create_refuses_an_unknown_optimizer(api, iris):
    assert_refused(
        create(api, {"dataset": iris, "optimizer": "lbfgs"}), "optimizer", mentions="adam"
    )


@pytest.mark.parametrize(
    "model",
    [{"type": "transformer"}, {"type": "mlp", "hidden": [0]}, {"type": "mlp", "activation": "swish"},
     {"type": "linear", "hidden": [8]}, [64, 64]],
    ids=["type", "zero-width", "activation", "linear-hidden", "list"],
)  # fmt: skip
def test_create_refuses_a_bad_model(api, iris, model):
    assert_refused(create(api, {"dataset": iris, "model": model}), "model")


def test_create_reports_every_problem_at_once(api, iris):
    response = create(api, {"dataset": iris, "learning_rate": 0, "batch_size": 0, "epochs": 0})

    assert_refused(response, "learning_rate", "batch_size", "epochs")


def test_create_refuses_a_body_that_is_not_an_object(api):
    assert_refused(create(api, [1, 2, 3]), "non_field_errors")


def test_create_refuses_a_name_that_is_too_long(api, iris):
    assert_refused(create(api, {"dataset": iris, "name": "n" * 201}), "name")


def test_create_on_a_dataset_that_is_not_ready_is_refused(api, iris):
    Dataset.objects.filter(pk=iris).update(status=Dataset.Status.FAILED)

    assert_refused(create(api, {"dataset": iris}), "dataset", mentions="not ready")


@pytest.mark.parametrize(
    "key", ["epochs", "learning_rate", "seed", "weight_decay", "validation_split"]
)
def test_create_refuses_an_integer_of_hundreds_of_digits_as_out_of_range(api, iris, key):
    response = create(api, {"dataset": iris, key: 10**400})
    assert_refused(response, key, mentions="out of range")


def test_create_refuses_a_batch_size_beyond_a_million(api, iris):
    assert_refused(
        create(api, {"dataset": iris, "batch_size": 10**400}), "batch_size", mentions="at most"
    )


def test_create_refuses_a_run_of_more_than_five_million_steps(api, upload):
    rows = [["x", "y"]] + [[i, i * 0.5] for i in range(1000)]
    dataset = upload(rows).json()["id"]
    # 800 training rows at batch size 1: 800 steps per epoch, 8,000,000 steps in all.
    response = create(api, {"dataset": dataset, "batch_size": 1, "epochs": 10_000})
    assert_refused(response, "epochs", mentions="8,000,000")
    assert create(api, {"dataset": dataset, "batch_size": 2, "epochs": 10_000}).status_code == 201


@pytest.mark.parametrize(
    ("distributed", "batch_size", "message"),
    [
        ({"nodes": 0}, 32, "nodes must be at least 1"),
        ({"procs_per_node": 65}, 128, "procs_per_node must be at most 64"),
        ({"gpus": 2}, 32, "unknown key(s) gpus"),
        ({"nodes": 2, "procs_per_node": 4}, 6, "8 processes split each batch of 6 rows"),
    ],
)
def test_a_distributed_layout_out_of_bounds_is_refused_naming_it(
    api, iris, distributed, batch_size, message
):
    response = create(api, {"dataset": iris, "batch_size": batch_size, "distributed": distributed})
    assert_refused(response, "distributed", mentions=message)
