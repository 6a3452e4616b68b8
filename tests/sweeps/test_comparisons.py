"""Compare optimizers: six grid sweeps of the same learning rates, one per optimizer (SGD, SGD +
momentum, Nesterov, RMSprop, Adam, AdamW); a dry run counts the cost and creates nothing; bad
input is a 400 naming the field, nothing created; each optimizer's winner is its sweep's best
trial, and the winners open on the compare page. Runs are ended as a worker would end them."""

from __future__ import annotations

import pytest

from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from downhill.sweeps.models import Comparison, Sweep, Trial
from tests.conftest import iris_rows
from tests.sweeps.test_api import end_run

pytestmark = pytest.mark.django_db
URL = "/api/v1/optimizer-comparisons/"


@pytest.fixture
def dataset(upload):
    return upload(iris_rows(), name="iris.csv").json()


def nothing_created():
    return not (Comparison.objects.exists() or Sweep.objects.exists()
                or Experiment.objects.exists() or Run.objects.exists())  # fmt: skip


def test_dry_run_counts_the_trials_and_steps_and_creates_nothing(api, dataset):
    response = api.post(
        URL, {"dataset": dataset["id"], "dry_run": True, "epochs": 4}, format="json"
    )
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert [o["label"] for o in plan["optimizers"]] == [
        "SGD", "SGD + momentum", "Nesterov", "RMSprop", "Adam", "AdamW",
    ]  # fmt: skip
    assert plan["learning_rates"] == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert plan["trials"] == 30
    # iris: 150 rows, 120 for training, 4 batches of 32 per epoch.
    assert plan["steps_per_trial"] == 16 and plan["steps"] == 30 * 16
    assert nothing_created()


def test_create_makes_one_grid_sweep_per_optimizer_with_the_same_rates(api, dataset):
    response = api.post(
        URL, {"dataset": dataset["id"], "epochs": 3, "learning_rates": [0.1, 0.001], "seed": 4},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    comparison = response.json()
    assert comparison["trials"] == 12 and comparison["status"] == "running"
    sweeps = Sweep.objects.filter(comparison_id=comparison["id"])
    assert {s.variant for s in sweeps} == {o["key"] for o in comparison["optimizers"]}
    for sweep in sweeps:
        assert sweep.method == "grid" and sweep.max_trials == 2 and sweep.max_concurrent == 1
        assert sweep.space == {"learning_rate": {"type": "categorical", "values": [0.001, 0.1]}}
        assert sweep.base["seed"] == 4 and sweep.base["epochs"] == 3
    configs = {t.sweep.variant: t.run.experiment.config
               for t in Trial.objects.select_related("sweep", "run__experiment")}  # fmt: skip
    assert len(configs) == 6  # one queued trial each (max concurrent 1)
    assert (configs["sgd"]["momentum"], configs["sgd"]["nesterov"]) == (0.0, False)
    assert (configs["sgd_momentum"]["momentum"], configs["sgd_momentum"]["nesterov"]) == (
        0.9,
        False,
    )
    assert (configs["nesterov"]["momentum"], configs["nesterov"]["nesterov"]) == (0.9, True)
    assert configs["rmsprop"]["optimizer"] == "rmsprop" and configs["adam"]["momentum"] is None
    assert configs["adamw"]["weight_decay"] == 0.01
    assert len({c["seed"] for c in configs.values()}) == 1


BAD = [
    ({"dataset": 999999}, "dataset"),
    ({"dataset": "iris"}, "dataset"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 5000}, "epochs"),
    ({"learning_rates": [0.1]}, "learning_rates"),
    ({"learning_rates": [0.1, -1]}, "learning_rates"),
    ({"learning_rates": [0.1, 0.1]}, "learning_rates"),
    ({"learning_rates": "0.1, 1"}, "learning_rates"),
    ({"max_concurrent": 0}, "max_concurrent"),
    ({"optimizers": ["sgd"]}, "optimizers"),
    ({"dry_run": "yes"}, "dry_run"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, dataset, overrides, field):
    response = api.post(URL, {"dataset": dataset["id"], **overrides}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert nothing_created()


def test_another_users_dataset_is_not_found_and_their_comparison_is_404(
    api, dataset, other_user, client
):
    from rest_framework.test import APIClient

    other = APIClient()
    other.force_authenticate(other_user)
    response = other.post(URL, {"dataset": dataset["id"]}, format="json")
    assert response.status_code == 400 and "dataset" in response.json()["errors"]
    mine = api.post(URL, {"dataset": dataset["id"], "epochs": 2}, format="json").json()
    assert other.get(f"{URL}{mine['id']}/").status_code == 404
    assert other.get(URL).json()["count"] == 0


def test_winners_are_each_optimizers_best_rate_and_open_on_the_compare_page(api, dataset):
    comparison = api.post(
        URL, {"dataset": dataset["id"], "epochs": 2, "learning_rates": [0.01, 0.1]}, format="json"
    ).json()  # fmt: skip
    # Each optimizer: the rate 0.1 ends lower than 0.01, except Adam's, which diverges at 0.1.
    for _ in range(2):
        for trial in Trial.objects.filter(state="running").select_related("run", "sweep"):
            rate = trial.params["learning_rate"]
            if trial.sweep.variant == "adam" and rate == 0.1:
                end_run(trial.run, [0.9], status="failed")
            else:
                end_run(trial.run, [0.8, 0.5 if rate == 0.1 else 0.7])
    detail = api.get(f"{URL}{comparison['id']}/").json()
    assert detail["status"] == "finished"
    best = {o["key"]: o["best"] for o in detail["optimizers"]}
    assert best["adam"]["learning_rate"] == 0.01 and best["adam"]["val_loss"] == 0.7
    assert all(best[k]["learning_rate"] == 0.1 for k in best if k != "adam")
    runs = [o["best"]["run"] for o in detail["optimizers"]]
    assert detail["compare_url"] == "/runs/compare/?ids=" + ",".join(map(str, runs))


def test_cancel_cancels_every_optimizers_sweep(api, dataset):
    comparison = api.post(URL, {"dataset": dataset["id"], "epochs": 2}, format="json").json()
    response = api.post(f"{URL}{comparison['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert not Run.objects.filter(status__in=["queued", "running"]).exists()
    assert set(Sweep.objects.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db
class TestPages:
    def test_the_plan_page_shows_the_cost_before_launching(self, client, user, dataset):
        client.force_login(user)
        html = client.get(f"/datasets/{dataset['id']}/compare-optimizers/").content.decode()
        assert "30 runs</strong> of 10 epochs" in html and "Launch 30 runs" in html
        assert "Nesterov" in html and "AdamW" in html
        assert nothing_created()
        response = client.post(f"/datasets/{dataset['id']}/compare-optimizers/")
        comparison = Comparison.objects.get()
        assert response.status_code == 302
        assert response.url == f"/comparisons/{comparison.id}/"
        page = client.get(response.url).content.decode()
        assert page.count("data-optimizer=") == 6 and "0 / 5" in page

    def test_the_dataset_page_links_to_it(self, client, user, dataset):
        client.force_login(user)
        html = client.get(f"/datasets/{dataset['id']}/").content.decode()
        assert f'href="/datasets/{dataset["id"]}/compare-optimizers/"' in html

    def test_another_users_dataset_is_404(self, client, other_user, dataset):
        client.force_login(other_user)
        assert client.get(f"/datasets/{dataset['id']}/compare-optimizers/").status_code == 404
