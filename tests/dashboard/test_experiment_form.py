"""The experiment form: fields named after the config keys, the form-to-config translation,
the live preview, launching, and Clone."""

from __future__ import annotations

import json
import re

import pytest
from django.http import QueryDict

from downhill.dashboard.experiment_form import (
    fields,
    form_to_request,
    form_values_from_config,
    initial_values,
)
from downhill.datasets.models import Dataset
from downhill.experiments.config import CONFIG_KEYS, normalize_config
from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from tests.conftest import diabetes_rows, iris_rows
from tests.dashboard.builders import make_run
from workers.contract.spec import LR_SCHEDULES


def form(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in {**initial_values(), **values}.items():
        if value is not None:
            data[key] = value
    return data


@pytest.fixture
def iris(upload):
    response = upload(iris_rows(), "iris.csv", target="species")
    return Dataset.objects.get(pk=response.json()["id"])


def test_fields_are_the_config_keys_and_every_key_has_one():
    assert {f.key for f in fields()} - {"name"} == set(CONFIG_KEYS)


def test_every_field_starts_as_plain_text_from_the_spec():
    for f in fields():
        for text in (f.initial, f.placeholder, f.help, *(label for _, label in f.choices)):
            assert isinstance(text, str) and "Derived(" not in text, f.name
    assert initial_values()["learning_rate"] == "0.001"  # adam's, the default optimizer's


def test_schedule_fields_apply_to_exactly_the_types_that_take_them():
    for kind, schedule in LR_SCHEDULES.items():
        params = [p.name for p in schedule.params]
        shown = {
            f.name.split(".", 1)[1]
            for f in fields()
            if f.name.startswith("lr_schedule.") and f.applies({"lr_schedule.type": kind})
        }
        assert shown == {"type", "warmup_epochs", *params}, kind


def test_empty_fields_are_left_to_the_defaults_and_numbers_are_read():
    body = form_to_request(form(dataset="3", learning_rate="0.05", epochs="30", seed=""))
    assert body["dataset"] == 3 and body["learning_rate"] == 0.05 and body["epochs"] == 30
    assert body["batch_size"] == 32
    assert "seed" not in body and "weight_decay" not in body


def test_fields_that_do_not_apply_are_ignored():
    body = form_to_request(form(optimizer="adam", momentum="0.9", nesterov="on"))
    assert "momentum" not in body and "nesterov" not in body
    sgd = form_to_request(form(optimizer="sgd", momentum="0.9", nesterov="on"))
    assert sgd["momentum"] == 0.9 and sgd["nesterov"] is True


def test_a_section_switched_off_leaves_its_settings_out():
    off = form_to_request(form(**{"early_stopping.patience_epochs": "3"}))
    assert "early_stopping" not in off
    on = form_to_request(form(early_stopping="on", **{"early_stopping.patience_epochs": "3"}))
    assert on["early_stopping"] == {
        "monitor": "val_loss", "patience_epochs": 3, "min_delta": 0, "restore_best": True,
    }  # fmt: skip
    swa = form_to_request(form(swa="on"))
    assert swa["swa"] == {}  # on, with its defaults


def test_schedule_takes_only_its_own_parameters():
    body = form_to_request(
        form(**{"lr_schedule.type": "cosine", "lr_schedule.min_lr": "0.0001",
                "lr_schedule.gamma": "0.5", "lr_schedule.warmup_epochs": "2"})
    )  # fmt: skip
    assert body["lr_schedule"] == {"type": "cosine", "min_lr": 0.0001, "warmup_epochs": 2}


def test_model_widths_full_batches_and_clipping():
    body = form_to_request(
        form(**{"model.hidden": "128 x 64", "batch_size": "FULL",
                "gradient_clipping": "max_norm", "gradient_clipping.max_norm": "1.5",
                "gradient_clipping.max_value": "9"})
    )  # fmt: skip
    assert body["model"] == {
        "type": "mlp", "hidden": [128, 64], "activation": "relu", "dropout": 0,
        "batch_norm": False,
    }  # fmt: skip
    assert body["batch_size"] == "full"
    assert body["gradient_clipping"] == {"max_norm": 1.5}
    linear = form_to_request(form(**{"model.type": "linear"}))
    assert linear["model"] == {"type": "linear"}


def test_text_that_is_not_a_number_reaches_the_validator_as_text():
    body = form_to_request(form(learning_rate="fast", epochs="2.5", **{"model.hidden": "a, b"}))
    assert body["learning_rate"] == "fast" and body["epochs"] == 2.5
    assert body["model"]["hidden"] == "a, b"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "config",
    [
        {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
        {"optimizer": "adamw", "batch_size": "full", "epochs": 7, "validation_split": 0.3,
         "model": {"type": "mlp", "hidden": [16], "activation": "tanh", "dropout": 0.1, "batch_norm": True},
         "init": {"type": "normal", "std": 0.02}, "gradient_clipping": {"max_value": 0.5}},
        {"optimizer": "rmsprop", "momentum": 0.5, "lr_schedule": {"type": "cyclic", "mode": "triangular2"},
         "early_stopping": {"patience_epochs": 4, "monitor": "val_accuracy", "restore_best": False},
         "optimizer_switch": {"at_epoch": 10, "optimizer": "sgd", "learning_rate": 0.01}},
        {"model": "linear", "loss": "hinge", "swa": {"start_epoch": 15},
         "batch_size_schedule": {"every_epochs": 2}, "lr_schedule": {"type": "warm_restarts", "warmup_epochs": 1.5}},
    ],
)  # fmt: skip
def test_a_clone_reproduces_the_runs_config(user, iris, config):
    def lookup(pk):
        return iris if pk == iris.id else None

    original = normalize_config({"dataset": iris.id, "seed": 42, **config}, dataset_lookup=lookup)
    values = form_values_from_config(original)
    again = normalize_config(form_to_request(form(**values)), dataset_lookup=lookup)
    assert again == original


@pytest.mark.django_db
class TestFormPage:
    def test_fields_are_named_after_the_config_keys(self, client, user, iris):
        client.force_login(user)
        html = client.get("/experiments/new/").content.decode()
        for name in ("dataset", "optimizer", "learning_rate", "momentum", "batch_size", "epochs",
                     "lr_schedule.type", "lr_schedule.gamma", "early_stopping", "swa",
                     "optimizer_switch", "gradient_clipping", "model.hidden", "seed"):  # fmt: skip
            assert f'name="{name}"' in html, name
        assert re.search(r'name="batch_size" value="32"', html)
        assert f'<option value="{iris.id}" selected>iris' in html
        assert '<option value="species" selected>species</option>' in html
        assert 'data-preview-url="/experiments/new/preview/"' in html

    def test_fields_that_do_not_apply_start_hidden(self, client, user, iris):
        client.force_login(user)
        html = client.get("/experiments/new/").content.decode()
        momentum = re.search(
            r'<div class="field field--float[^"]*" data-field-name="momentum"[^>]*>', html
        )
        assert " hidden" in momentum.group(0)  # adam is the default optimizer
        when = re.search(r'data-field-name="momentum" data-when="([^"]*)"', html).group(1)
        assert json.loads(when.replace("&quot;", '"')) == [["optimizer", ["sgd", "rmsprop"]]]

    def test_without_datasets_it_asks_for_one_first(self, client, user):
        client.force_login(user)
        html = client.get("/experiments/new/").content.decode()
        assert "Upload a dataset first" in html and "<fieldset" not in html

    def test_dataset_link_preselects_the_dataset(self, client, user, iris, upload):
        wine = Dataset.objects.get(pk=upload(diabetes_rows(), "diabetes.csv").json()["id"])
        client.force_login(user)
        html = client.get(f"/experiments/new/?dataset={wine.id}").content.decode()
        assert f'<option value="{wine.id}" selected>diabetes' in html
        assert '<option value="progression" selected>' in html

    def test_the_newest_dataset_is_preselected(self, client, user, iris, upload):
        newest = Dataset.objects.get(pk=upload(diabetes_rows(), "z-diabetes.csv").json()["id"])
        client.force_login(user)
        html = client.get("/experiments/new/").content.decode()
        assert f'<option value="{newest.id}" selected>' in html  # listed last by name
        assert f'<option value="{iris.id}" selected>' not in html

    def test_clone_copies_the_experiment_name(self, client, user, iris):
        source = make_run(user, dataset=iris, target="species")
        Experiment.objects.filter(pk=source.experiment_id).update(name="my best sgd")
        client.force_login(user)
        html = client.get(f"/experiments/new/?clone={source.id}").content.decode()
        assert 'name="name" value="my best sgd"' in html

    def test_launch_creates_the_run_and_opens_its_page(self, client, user, iris):
        client.force_login(user)
        response = client.post(
            "/experiments/new/",
            form(dataset=str(iris.id), target="species", optimizer="sgd", learning_rate="0.05",
                 momentum="0.9", epochs="12", name="my sgd",
                 **{"lr_schedule.type": "step", "lr_schedule.every_epochs": "4"}),
        )  # fmt: skip
        run = Run.objects.get()
        assert response.status_code == 302 and response.url == f"/runs/{run.id}/"
        experiment = run.experiment
        assert experiment.name == "my sgd"
        assert experiment.config["optimizer"] == "sgd" and experiment.config["momentum"] == 0.9
        assert experiment.config["batch_size"] == 32
        assert experiment.config["lr_schedule"] == {
            "type": "step", "every_epochs": 4, "gamma": 0.1, "warmup_epochs": 0,
        }  # fmt: skip

    def test_bad_settings_are_named_under_their_fields_and_nothing_starts(self, client, user, iris):
        client.force_login(user)
        response = client.post(
            "/experiments/new/",
            form(dataset=str(iris.id), learning_rate="-1", epochs="lots",
                 **{"lr_schedule.type": "step", "lr_schedule.gamma": "3"}),
        )  # fmt: skip
        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(r'data-error-for="learning_rate">must be greater than 0, not -1', html)
        assert re.search(r'data-error-for="epochs">must be a number', html)
        assert re.search(r'data-error-for="lr_schedule">gamma must be at most 1', html)
        assert 'value="-1"' in html  # what was typed stays
        assert not Experiment.objects.exists() and not Run.objects.exists()

    def test_past_the_quota_it_says_so(self, client, user, iris, settings):
        settings.DOWNHILL_MAX_ACTIVE_RUNS = 0
        client.force_login(user)
        response = client.post("/experiments/new/", form(dataset=str(iris.id)))
        assert response.status_code == 429
        assert "the limit is 0" in response.content.decode()

    def test_clone_prefills_the_form(self, client, user, iris):
        source = make_run(
            user,
            dataset=iris,
            target="species",
            optimizer="sgd",
            learning_rate=0.123,
            momentum=0.8,
            lr_schedule={"type": "cosine", "min_lr": 0.001, "warmup_epochs": 0},
            early_stopping={"patience_epochs": 7, "min_delta": 0.0, "monitor": "val_loss",
                            "restore_best": True},
        )  # fmt: skip
        client.force_login(user)
        html = client.get(f"/experiments/new/?clone={source.id}").content.decode()
        assert f"Clone of run #{source.id}" in html
        assert 'name="learning_rate" value="0.123"' in html
        assert 'name="momentum" value="0.8"' in html
        assert '<option value="sgd" selected>sgd</option>' in html
        assert '<option value="cosine" selected>' in html
        assert 'name="lr_schedule.min_lr" value="0.001"' in html
        assert re.search(r'name="early_stopping" checked', html)
        assert 'name="early_stopping.patience_epochs" value="7"' in html

    def test_clone_of_another_users_run_is_a_blank_form(self, client, user, other_user, iris):
        theirs = make_run(other_user, learning_rate=0.777)
        client.force_login(user)
        html = client.get(f"/experiments/new/?clone={theirs.id}").content.decode()
        assert "0.777" not in html and "Clone of" not in html


@pytest.mark.django_db
class TestPreview:
    def test_plots_the_learning_rate_per_step(self, client, user, iris):
        client.force_login(user)
        response = client.post(
            "/experiments/new/preview/",
            form(dataset=str(iris.id), epochs="10", **{"lr_schedule.type": "cosine"}),
        )
        assert response.status_code == 200
        preview = response.json()
        assert preview["valid"] is True
        assert preview["total_steps"] == 40  # 120 training rows in batches of 32, 10 epochs
        assert preview["lr"]["values"][0] == 0.001 and preview["lr"]["values"][-1] < 1e-5
        assert preview["config"]["lr_schedule"] == {
            "type": "cosine",
            "min_lr": 0.0,
            "warmup_epochs": 0,
        }
        assert not Experiment.objects.exists()

    def test_names_the_fields_to_fix(self, client, user, iris):
        client.force_login(user)
        response = client.post(
            "/experiments/new/preview/", form(dataset=str(iris.id), batch_size="0", epochs="0")
        )
        assert response.status_code == 200  # an answer, not a failed request
        body = response.json()
        assert body["valid"] is False
        assert set(body["errors"]) == {"batch_size", "epochs"}
        assert "batch_size: must be at least 1, not 0." in body["detail"]

    def test_needs_a_signed_in_post(self, client, user):
        assert client.post("/experiments/new/preview/", {}).status_code == 302
        client.force_login(user)
        assert client.get("/experiments/new/preview/").status_code == 405
