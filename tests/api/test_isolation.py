"""Every object belongs to its owner: another user neither sees nor touches it (404, not 403,
so ids do not leak)."""

from __future__ import annotations

import re

import pytest

from downhill.lab.models import Landscape, Playground, RangeTest
from downhill.runs.metric_chunks import points_count
from downhill.runs.models import MetricChunk, Run
from downhill.runs.services import metrics_record
from downhill.sweeps.models import Comparison, Sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def adas(experiment, run):
    """Ada's dataset, experiment and run, with a few metric points."""
    metrics_record(run.id, [("train_loss", step, 1.0 / step, 1.7e9) for step in range(1, 6)])
    sweep = Sweep.objects.create(
        owner=experiment.owner, dataset_id=experiment.dataset_id, name="s", base={}, space={},
        method="random", seed=0, objective="val_loss", direction="minimize", max_trials=1,
        max_concurrent=1, status=Sweep.Status.CANCELLED,
    )  # fmt: skip
    comparison = Comparison.objects.create(
        owner=experiment.owner, dataset_id=experiment.dataset_id, name="c", epochs=1,
        learning_rates=[0.1, 1],
    )  # fmt: skip
    return {"dataset": experiment.dataset_id, "experiment": experiment.id, "run": run.id,
            "sweep": sweep.id, "comparison": comparison.id}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/datasets/{dataset}/"),
        ("delete", "/api/v1/datasets/{dataset}/"),
        ("get", "/api/v1/experiments/{experiment}/"),
        ("post", "/api/v1/experiments/{experiment}/runs/"),
        ("get", "/api/v1/runs/{run}/"),
        ("get", "/api/v1/runs/{run}/metrics/"),
        ("post", "/api/v1/runs/{run}/cancel/"),
    ],
)
def test_another_user_gets_404_for_adas_objects(grace, adas, method, path):
    response = getattr(grace, method)(path.format(**adas))

    assert response.status_code == 404


def test_another_user_changes_nothing_of_adas(grace, adas):
    grace.delete(f"/api/v1/datasets/{adas['dataset']}/")
    grace.post(f"/api/v1/runs/{adas['run']}/cancel/")
    grace.post(f"/api/v1/experiments/{adas['experiment']}/runs/")

    assert Run.objects.get(pk=adas["run"]).status == "queued"
    assert Run.objects.filter(experiment_id=adas["experiment"]).count() == 1
    assert points_count(adas["run"]) == 5


def test_another_users_lists_are_empty(grace, adas):
    for path in ("/api/v1/datasets/", "/api/v1/experiments/", "/api/v1/runs/"):
        body = grace.get(path).json()
        assert body["count"] == 0, path
        assert body["results"] == [], path
    assert grace.get(f"/api/v1/runs/?experiment={adas['experiment']}").json()["results"] == []


def test_the_owner_sees_her_objects_in_lists(api, adas):
    assert [d["id"] for d in api.get("/api/v1/datasets/").json()["results"]] == [adas["dataset"]]
    assert [e["id"] for e in api.get("/api/v1/experiments/").json()["results"]] == [
        adas["experiment"]
    ]
    assert [r["id"] for r in api.get("/api/v1/runs/").json()["results"]] == [adas["run"]]


def test_another_users_experiment_cannot_use_adas_dataset(grace, adas):
    response = grace.post("/api/v1/experiments/", {"dataset": adas["dataset"]}, format="json")

    assert response.status_code == 400
    assert "dataset" in response.json()["errors"]
    assert Run.objects.count() == 1


def routes_with_an_id() -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, path template with {id}, methods) of every URL of ours that names one object,
    read from the URL configuration itself, so an endpoint added later is walked too. kind:
    the first segment after the API prefix or the page root (datasets, experiments, runs, ...).
    The API's methods are its viewset's; a page is tried with GET and POST."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + _route(pattern))
                continue
            assert isinstance(pattern, URLPattern)
            route = prefix + _route(pattern)
            if "format" in route or route.startswith("admin/"):
                continue  # DRF's .json suffix twins; Django's admin (staff only)
            with_id = re.sub(r"\(\?P<pk>[^)]*\)|<int:\w+_id>", "{id}", route)
            # Other named groups take their last choice (a download's `config`: every run has it).
            with_id = re.sub(r"\(\?P<\w+>(?:[^|)]*\|)*([^|)]*)\)", r"\1", with_id)
            if "{id}" not in with_id:
                continue
            actions = getattr(pattern.callback, "actions", None)
            methods = tuple(actions) if actions else ("get", "post")
            found.append((_kind(with_id), "/" + with_id, methods))

    walk(get_resolver().url_patterns, "")
    return found


def _route(pattern) -> str:
    return str(pattern.pattern).removeprefix("^").removesuffix("$")


def _kind(path: str) -> str:
    rest = path.removeprefix("api/v1/")
    if rest.startswith("lab/"):  # the lab's kinds of job: lab/range-tests, lab/playground
        return "/".join(rest.split("/", 2)[:2])
    return "tokens" if rest.startswith("auth/tokens/") else rest.split("/", 1)[0]


def test_every_url_naming_an_object_answers_another_user_404_and_its_owner_not(
    client, api, grace, other_user, user, adas
):
    from downhill.accounts.services import token_create

    ids = {
        **{f"{k}s": v for k, v in adas.items()},
        "tokens": token_create(user=user, name="ci").token.id,
        "lab/range-tests": RangeTest.objects.create(
            owner=user, experiment_id=adas["experiment"], params={}
        ).id,
        "lab/landscapes": Landscape.objects.create(
            owner=user, run_id=adas["run"], kind="surface", params={}, cost={}
        ).id,
        "lab/playground": Playground.objects.create(owner=user, params={}).id,
        "optimizer-comparisons": adas["comparison"],
    }
    routes = routes_with_an_id()
    paths = {path for _, path, _ in routes}
    # The walk finds what exists today (and more when more is added).
    for known in (
        "/api/v1/runs/{id}/resume/", "/api/v1/runs/{id}/predict/", "/api/v1/runs/{id}/events/",
        "/api/v1/datasets/{id}/preview/", "/api/v1/auth/tokens/{id}/", "/runs/{id}/resume/",
        "/runs/{id}/again/", "/datasets/{id}/delete/",
    ):  # fmt: skip
        assert known in paths, sorted(paths)

    client.force_login(other_user)
    for kind, path, methods in routes:
        url = path.format(id=ids[kind])
        caller = grace if url.startswith("/api/") else client
        statuses = {m: getattr(caller, m)(url).status_code for m in methods}
        assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), (url, statuses)
    # Pages that take ids in the query: the comparison 404s, Clone does not fill the form.
    assert client.get(f"/runs/compare/?ids={adas['run']}").status_code == 404
    form = client.get(f"/experiments/new/?clone={adas['run']}")
    assert form.status_code == 200 and form.context["clone_of"] is None
    assert (
        Run.objects.count() == 1 and sum(MetricChunk.objects.values_list("n", flat=True)) == 5
    )  # nothing changed

    client.force_login(user)  # the owner reaches each of them: the ids above were right
    for kind, path, methods in routes:
        url = path.format(id=ids[kind])
        caller = api if url.startswith("/api/") else client
        statuses = {m: getattr(caller, m)(url).status_code for m in methods}
        assert 404 not in statuses.values(), (url, statuses)
