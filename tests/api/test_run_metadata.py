"""PATCH /api/v1/runs/{id}/: a run's name, tags and notes; searching and filtering by them."""

from __future__ import annotations

import pytest

from downhill.runs.models import Run

pytestmark = pytest.mark.django_db


def test_patch_sets_name_tags_and_notes(api, run):
    response = api.patch(
        f"/api/v1/runs/{run.id}/",
        {"name": "  winner ", "tags": ["bs-1", "Keep", "keep", " "], "notes": "lowest loss"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["tags"], body["notes"]) == (
        "winner",
        ["bs-1", "Keep"],
        "lowest loss",
    )
    stored = Run.objects.get(pk=run.id)
    assert (stored.name, stored.tags, stored.notes) == ("winner", ["bs-1", "Keep"], "lowest loss")


def test_patch_changes_only_the_fields_sent(api, run):
    api.patch(f"/api/v1/runs/{run.id}/", {"name": "a", "notes": "n"}, format="json")
    api.patch(f"/api/v1/runs/{run.id}/", {"tags": ["x"]}, format="json")

    stored = Run.objects.get(pk=run.id)
    assert (stored.name, stored.tags, stored.notes) == ("a", ["x"], "n")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "succeeded"}, "status"),
        ({"name": 3}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"tags": "a" * 41}, "tags"),
        ({"tags": [1]}, "tags"),
        ({"tags": {"a": 1}}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ],
)
def test_patch_refuses_bad_input_naming_the_field_and_writes_nothing(api, run, body, field):
    response = api.patch(f"/api/v1/runs/{run.id}/", {**body, "notes": "no"}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    stored = Run.objects.get(pk=run.id)
    assert (stored.name, stored.tags, stored.notes, stored.status) == ("", [], "", "queued")


def test_runs_search_names_tags_notes_and_config_values(api, experiment, run):
    from downhill.runs.services import run_queue

    other = run_queue(experiment=experiment)
    Run.objects.filter(pk=run.id).update(name="Big batch", tags=["winner"], notes="try wd")
    ids = lambda q: [r["id"] for r in api.get(f"/api/v1/runs/?{q}").json()["results"]]  # noqa: E731

    assert ids("q=big") == [run.id]
    assert ids("q=WINNER") == [run.id]
    assert ids("q=try%20wd") == [run.id]
    assert ids("tag=winner") == [run.id]
    assert ids("tag=win") == []  # a whole tag, not part of one
    optimizer = experiment.config["optimizer"]
    assert set(ids(f"q={optimizer}")) == {run.id, other.id}
    assert ids("q=nothing-like-this") == []


def test_another_user_can_neither_patch_nor_find_adas_run(grace, run):
    Run.objects.filter(pk=run.id).update(name="secret", tags=["mine"])

    response = grace.patch(f"/api/v1/runs/{run.id}/", {"name": "taken"}, format="json")

    assert response.status_code == 404
    assert Run.objects.get(pk=run.id).name == "secret"
    assert grace.get("/api/v1/runs/?q=secret").json()["results"] == []
    assert grace.get("/api/v1/runs/?tag=mine").json()["results"] == []
