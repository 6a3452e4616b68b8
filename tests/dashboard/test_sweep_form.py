"""The experiment form's search: a searched setting makes the launch a sweep created by the
API's own service; lists, ranges, log scales and conditions (momentum only where the
optimizer has it) read as the API reads them; bad input is named beside its field and creates
nothing; with nothing searched the form launches one run as before."""

from __future__ import annotations

import re

import pytest
from django.http import QueryDict

from downhill.dashboard.sweep_form import (
    form_errors,
    form_to_sweep,
    initial_search_values,
    searchable_fields,
)
from downhill.datasets.models import Dataset
from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from downhill.sweeps.models import Sweep, Trial
from tests.conftest import iris_rows
from tests.dashboard.test_experiment_form import form as plain_form


def form(**values) -> QueryDict:
    """The form's initial values with `values` over them; a list is a multi-valued input."""
    data = plain_form(**{**initial_search_values(), "sweep_method": "random",
                         "sweep_max_trials": "4", "sweep_max_concurrent": "2"})  # fmt: skip
    for key, value in values.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def post(client, url, data: QueryDict):
    """The test client sends a QueryDict's last values only; a dict of lists sends them all."""
    return client.post(url, dict(data.lists()))


@pytest.fixture
def iris(upload):
    return Dataset.objects.get(pk=upload(iris_rows(), "iris.csv", target="species").json()["id"])


def test_searchable_settings_are_the_flat_training_settings():
    names = {f.name for f in searchable_fields()}
    assert {"optimizer", "learning_rate", "momentum", "nesterov", "weight_decay", "batch_size",
            "epochs", "loss"} <= names  # fmt: skip
    assert not names & {"name", "dataset", "target", "task", "model.hidden", "lr_schedule.type"}


def test_a_log_range_and_a_list_become_the_space_and_leave_the_base():
    body = form_to_sweep(form(
        dataset="7", learning_rate="0.5", batch_size="32",
        search_learning_rate="on", search_learning_rate_mode="range",
        search_learning_rate_low="1e-4", search_learning_rate_high="1", search_learning_rate_log="on",
        search_batch_size="on", search_batch_size_mode="list", search_batch_size_values="16, 64 128",
    ))  # fmt: skip
    assert body["space"] == {
        "learning_rate": {"type": "float", "low": 0.0001, "high": 1, "log": True},
        "batch_size": {"type": "categorical", "values": [16, 64, 128]},
    }
    assert "learning_rate" not in body["base"] and "batch_size" not in body["base"]
    assert body["base"]["dataset"] == 7
    assert (body["method"], body["max_trials"], body["pruner"]) == ("random", 4, {"type": "none"})


def test_momentum_applies_only_to_the_searched_optimizers_that_have_it():
    searched = form_to_sweep(form(
        dataset="7", optimizer="sgd", search_optimizer="on", search_optimizer_values=["sgd", "adam"],
        search_momentum="on", search_momentum_mode="range", search_momentum_low="0",
        search_momentum_high="0.95",
    ))  # fmt: skip
    assert searched["space"]["momentum"]["when"] == {"optimizer": ["sgd"]}
    fixed = form_to_sweep(form(
        dataset="7", optimizer="sgd", momentum="0.9",
        search_optimizer="on", search_optimizer_values=["sgd", "rmsprop", "adam"],
    ))  # fmt: skip
    assert "momentum" not in fixed["base"] and "optimizer" not in fixed["base"]
    assert fixed["space"]["momentum"] == {
        "type": "categorical", "values": [0.9], "when": {"optimizer": ["sgd", "rmsprop"]},
    }  # fmt: skip


def test_a_condition_on_a_searched_choice_holds_where_any_of_its_values_does():
    # The optimizer's own select says adam, but sgd is searched: momentum applies to sgd trials.
    body = form_to_sweep(form(
        dataset="7", optimizer="adam", momentum="0.8",
        search_optimizer="on", search_optimizer_values=["sgd", "adam"],
    ))  # fmt: skip
    assert body["space"]["momentum"] == {
        "type": "categorical", "values": [0.8], "when": {"optimizer": ["sgd"]},
    }  # fmt: skip


def test_a_search_of_a_setting_that_does_not_apply_is_ignored():
    body = form_to_sweep(form(
        dataset="7", optimizer="adam", search_learning_rate="on", search_learning_rate_mode="list",
        search_learning_rate_values="0.01, 0.1", search_momentum="on", search_momentum_mode="list",
        search_momentum_values="0.5, 0.9",
    ))  # fmt: skip
    assert list(body["space"]) == ["learning_rate"]


def test_api_error_keys_become_the_forms_slots():
    data = form(search_learning_rate="on")
    errors = form_errors({"space.learning_rate.low": ["a"], "space.momentum.when": ["b"],
                          "base.epochs": ["c"], "pruner.type": ["d"], "space": ["e"]}, data)  # fmt: skip
    assert errors == {"space.learning_rate": ["a"], "momentum": ["b"], "epochs": ["c"],
                      "sweep_pruner": ["d"], "space": ["e"]}  # fmt: skip


@pytest.mark.django_db
class TestSweepFromTheForm:
    def test_launch_creates_a_sweep_through_the_service_and_opens_its_page(
        self, client, user, iris
    ):
        client.force_login(user)
        response = post(client, "/experiments/new/", form(
            dataset=str(iris.id), optimizer="sgd", epochs="3", name="lr x optimizer",
            search_optimizer="on", search_optimizer_values=["sgd", "adam"],
            search_learning_rate="on", search_learning_rate_mode="range",
            search_learning_rate_low="0.0001", search_learning_rate_high="0.5",
            search_learning_rate_log="on", sweep_seed="5",
        ))  # fmt: skip
        sweep = Sweep.objects.get()
        assert response.status_code == 302 and response.url == f"/sweeps/{sweep.id}/"
        assert sweep.name == "lr x optimizer" and sweep.seed == 5 and sweep.max_trials == 4
        assert sweep.space["learning_rate"]["log"] is True
        assert sweep.base["epochs"] == 3
        trials = list(Trial.objects.select_related("run__experiment"))
        assert len(trials) == 2  # max concurrent
        assert sweep.space["optimizer"]["values"] == ["sgd", "adam"]
        for trial in trials:
            config = trial.run.experiment.config
            assert config["optimizer"] == trial.params["optimizer"]
            assert 0.0001 <= config["learning_rate"] <= 0.5

    def test_a_grid_of_lists_asks_each_combination_once(self, client, user, iris):
        client.force_login(user)
        post(client, "/experiments/new/", form(
            dataset=str(iris.id), epochs="2", sweep_method="grid", sweep_max_trials="50",
            sweep_max_concurrent="10",
            search_batch_size="on", search_batch_size_mode="list", search_batch_size_values="16, 32",
            search_learning_rate="on", search_learning_rate_mode="list",
            search_learning_rate_values="0.001, 0.01, 0.1",
        ))  # fmt: skip
        sweep = Sweep.objects.get()
        assert sweep.max_trials == 6
        points = {(t.params["batch_size"], t.params["learning_rate"]) for t in sweep.trials.all()}
        assert len(points) == 6

    @pytest.mark.parametrize(
        ("values", "slot", "message"),
        [
            ({"search_learning_rate_low": "0", "search_learning_rate_high": "1",
              "search_learning_rate_log": "on"}, "space.learning_rate", "a log scale needs a positive range"),
            ({"search_learning_rate_low": "0.1", "search_learning_rate_high": "0.01"},
             "space.learning_rate", "the range is inverted"),
            ({"search_learning_rate_low": "", "search_learning_rate_high": "1"},
             "space.learning_rate", "must be a finite number"),
            ({"sweep_max_trials": "0"}, "sweep_max_trials", "must be an integer from 1"),
            ({"sweep_objective": "val_r2"}, "sweep_objective", "not val_r2"),
            ({"epochs": "0"}, "epochs", "at least 1"),
        ],
    )  # fmt: skip
    def test_bad_input_is_named_beside_its_field_and_creates_nothing(
        self, client, user, iris, values, slot, message
    ):
        client.force_login(user)
        data = {"dataset": str(iris.id), "search_learning_rate": "on",
                "search_learning_rate_mode": "range", "search_learning_rate_low": "0.001",
                "search_learning_rate_high": "0.1", **values}  # fmt: skip
        response = post(client, "/experiments/new/", form(**data))
        assert response.status_code == 400
        html = response.content.decode()
        found = re.search(rf'data-error-for="{re.escape(slot)}">([^<]*)', html)
        assert found and message in found.group(1), (slot, found and found.group(1))
        assert 'name="search_learning_rate" checked' in html  # the search stays on
        assert not Sweep.objects.exists() and not Experiment.objects.exists()
        assert not Run.objects.exists()

    def test_a_grid_over_a_float_range_is_refused(self, client, user, iris):
        client.force_login(user)
        response = post(client, "/experiments/new/", form(
            dataset=str(iris.id), sweep_method="grid", search_learning_rate="on",
            search_learning_rate_mode="range", search_learning_rate_low="0.001",
            search_learning_rate_high="0.1",
        ))  # fmt: skip
        assert response.status_code == 400 and not Sweep.objects.exists()
        assert re.search(
            r'data-error-for="space.learning_rate">a grid needs a list of values',
            response.content.decode(),
        )

    def test_preview_counts_the_trials_and_checks_the_sweep(self, client, user, iris):
        client.force_login(user)
        ok = post(client, "/experiments/new/preview/", form(
            dataset=str(iris.id), sweep_method="grid", sweep_max_trials="20",
            search_optimizer="on", search_optimizer_values=["sgd", "adam", "adamw"],
        )).json()  # fmt: skip
        assert ok["valid"] and ok["sweep"] == {
            "trials": 3,
            "method": "grid",
            "searched": ["optimizer"],
        }
        bad = post(client, "/experiments/new/preview/", form(
            dataset=str(iris.id), search_optimizer="on",
        )).json()  # fmt: skip
        assert not bad["valid"] and "space.optimizer" in bad["errors"]
        assert not Sweep.objects.exists()

    def test_the_page_offers_search_beside_searchable_settings_only(self, client, user, iris):
        client.force_login(user)
        html = client.get("/experiments/new/").content.decode()
        assert 'name="search_learning_rate"' in html and 'name="search_optimizer"' in html
        assert 'name="search_dataset"' not in html and 'name="search_model.hidden"' not in html
        assert 'name="search_learning_rate_log" checked' in html  # rates search on a log scale
        assert 'name="sweep_method"' in html and "Launch sweep" in html
