"""The extension story: an optimizer or lr schedule registered in the spec shows in the
config's validation, the API schema, the experiment form, the run page and README's tables,
with no other edit. Each test registers one for its own duration and removes it after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from downhill.dashboard.experiment_form import fields, form_to_request, initial_values
from downhill.dashboard.templatetags.run_display import config_rows, schedule
from downhill.datasets.models import Dataset
from downhill.experiments.config import normalize_config
from workers.contract import spec
from workers.contract.spec.lr_schedules import EPOCHS, param

LION = spec.Optimizer("lion", 0.0003, "Chen et al. 2023: a tenth of AdamW's rate", momentum=True)
LINEAR = spec.LRSchedule(
    "linear_decay", "linear decay", "linear ↘",
    (
        param("end_factor", "number", "End factor", "the rate's share left at the last step",
              default=0.1, minimum=0, maximum=1),
        param("over_epochs", "integer", "Over (epochs)", "epochs the decay takes",
              default=5, minimum=1, maximum=EPOCHS),
    ),
    check=lambda s, c: "end_factor 1 is a constant schedule." if s["end_factor"] == 1 else None,
    rate="η · (1 − (1 − end_factor) · min(1, (e − 1)/over_epochs))",
)  # fmt: skip


@pytest.fixture
def lion():
    spec.OPTIMIZERS.register(LION)
    yield LION
    spec.OPTIMIZERS.unregister(LION.name)


@pytest.fixture
def linear_decay():
    spec.LR_SCHEDULES.register(LINEAR)
    yield LINEAR
    spec.LR_SCHEDULES.unregister(LINEAR.name)


@pytest.fixture
def normalize(iris):
    dataset = Dataset.objects.get(pk=iris)

    def normalize(**config):
        return normalize_config(
            {"dataset": iris, "seed": 1, **config}, dataset_lookup=lambda pk: dataset
        )

    return normalize


def _errors(normalize, **config) -> dict:
    with pytest.raises(ValidationError) as caught:
        normalize(**config)
    return caught.value.message_dict


@pytest.mark.django_db
def test_a_registered_optimizer_is_validated_with_its_defaults(lion, normalize):
    config = normalize(optimizer="lion")
    assert config["learning_rate"] == 0.0003 and config["momentum"] == 0.0
    assert normalize(optimizer="lion", momentum=0.9)["momentum"] == 0.9
    assert normalize(optimizer_switch={"at_epoch": 5, "optimizer": "lion"})["optimizer_switch"] == {
        "at_epoch": 5, "optimizer": "lion", "learning_rate": 0.0003, "momentum": 0.9,
    }  # fmt: skip
    errors = _errors(normalize, optimizer="adam", momentum=0.5)
    assert errors["momentum"] == [
        "applies to sgd and rmsprop and lion; adam keeps its own moment estimates."
    ]


@pytest.mark.django_db
def test_without_registering_the_same_optimizer_is_refused(normalize):
    assert _errors(normalize, optimizer="lion")["optimizer"] == [
        "unknown value 'lion'; choose one of: sgd, rmsprop, adam, adamw, adagrad, adadelta."
    ]


@pytest.mark.django_db
def test_a_registered_schedule_is_validated_with_its_parameters(linear_decay, normalize):
    config = normalize(lr_schedule={"type": "linear_decay"}, epochs=10)
    assert config["lr_schedule"] == {
        "type": "linear_decay", "end_factor": 0.1, "over_epochs": 5, "warmup_epochs": 0,
    }  # fmt: skip
    errors = _errors(normalize, epochs=10, lr_schedule={"type": "linear_decay", "over_epochs": 11})
    assert errors["lr_schedule"] == ["over_epochs must be at most 10, not 11."]
    errors = _errors(normalize, lr_schedule={"type": "linear_decay", "end_factor": 1, "gamma": 2})
    assert errors["lr_schedule"] == [
        "unknown key(s) gamma; the keys are: type, warmup_epochs, end_factor, over_epochs.",
        "end_factor 1 is a constant schedule.",
    ]


@pytest.mark.django_db
def test_both_appear_in_the_openapi_schema(lion, linear_decay, api):
    schema = json.loads(api.get("/api/schema/?format=json").content)
    body = schema["components"]["schemas"]["ExperimentConfigRequest"]["properties"]
    optimizers = schema["components"]["schemas"][
        body["optimizer"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    ]
    assert "lion" in optimizers["enum"]
    assert "linear_decay" in body["lr_schedule"]["description"]
    assert "lion 0.0003" in body["learning_rate"]["description"]


def test_both_appear_in_the_form(lion, linear_decay):
    by_name = {f.name: f for f in fields()}
    assert ("lion", "lion") in by_name["optimizer"].choices
    assert ("linear_decay", "linear decay") in by_name["lr_schedule.type"].choices
    assert by_name["momentum"].applies({"optimizer": "lion"})
    end = by_name["lr_schedule.end_factor"]
    assert end.applies({"lr_schedule.type": "linear_decay"})
    assert not end.applies({"lr_schedule.type": "cosine"})
    values = {**initial_values(), "optimizer": "lion", "momentum": "0.8",
              "lr_schedule.type": "linear_decay", "lr_schedule.end_factor": "0.2"}  # fmt: skip
    body = form_to_request(values)
    assert body["optimizer"] == "lion" and body["momentum"] == 0.8
    assert body["lr_schedule"] == {"type": "linear_decay", "end_factor": 0.2}


def test_both_appear_on_the_run_page(lion, linear_decay):
    assert schedule({"type": "linear_decay", "end_factor": 0.1}) == "linear ↘"
    rows = dict(config_rows({"optimizer": "lion", "momentum": 0.9, "learning_rate": 3e-4}))
    assert rows["Momentum"] == "0.9"  # lion takes momentum, so its row shows


def test_both_appear_in_the_readme_tables(lion, linear_decay, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "scripts"))
    import config_reference

    assert "| `linear_decay` | `end_factor` (0.1, [0, 1])" in config_reference.schedules_table()
    assert "sgd, rmsprop, adam, adamw, adagrad, adadelta, lion" in config_reference.settings_table()
