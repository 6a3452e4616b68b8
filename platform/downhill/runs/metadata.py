"""A run's name, tags and notes of the user's own: validated and written here, searched here."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from .models import Run

MAX_NAME = 200
MAX_TAGS = 20
MAX_TAG = 40
MAX_NOTES = 10_000
FIELDS = ("name", "tags", "notes")


def _text(field: str, value, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationError({field: [f"must be text, not {type(value).__name__}."]})
    value = value.strip()
    if len(value) > limit:
        raise ValidationError({field: [f"at most {limit:,} characters, not {len(value):,}."]})
    if "\x00" in value:
        raise ValidationError({field: ["must not contain NUL characters."]})
    return value


def parse_tags(value) -> list[str]:
    """A list of tags, or one comma-separated string (what the page's field sends): trimmed,
    empty ones dropped, each once (the first spelling wins, case-insensitively)."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise ValidationError({"tags": ["must be a list of strings."]})
    tags: list[str] = []
    for item in value:
        tag = _text("tags", item, MAX_TAG)
        if "," in tag:
            raise ValidationError({"tags": [f"a tag cannot contain a comma: {tag!r}."]})
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": [f"at most {MAX_TAGS} tags, not {len(tags)}."]})
    return tags


def run_update_metadata(run: Run, data) -> Run:
    """Set any of name, tags and notes; anything else in `data` is refused, nothing is written
    unless everything is valid."""
    if not isinstance(data, dict):
        raise ValidationError(
            {"non_field_errors": ["Send a JSON object with name, tags and/or notes."]}
        )
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationError(
            {key: ["unknown field; only name, tags and notes can be changed."] for key in unknown}
        )
    changes = {}
    if "name" in data:
        changes["name"] = _text("name", data["name"], MAX_NAME)
    if "tags" in data:
        changes["tags"] = parse_tags(data["tags"])
    if "notes" in data:
        changes["notes"] = _text("notes", data["notes"], MAX_NOTES)
    if changes:
        Run.objects.filter(pk=run.pk).update(**changes)
        for key, value in changes.items():
            setattr(run, key, value)
    return run


def runs_matching(runs: QuerySet[Run], text: str = "", tag: str = "") -> QuerySet[Run]:
    """Runs whose name, tags, notes, experiment name or any config value contains `text`
    (case-insensitive), and that carry `tag` (case-insensitive, whole tag)."""
    text = text.strip()
    if text:
        runs = runs.filter(
            Q(name__icontains=text)
            | Q(notes__icontains=text)
            | Q(tags__icontains=text)
            | Q(experiment__name__icontains=text)
            | Q(experiment__config__icontains=text)
        )
    tag = tag.strip()
    if tag:  # the tag with its JSON quotes: a whole tag, not part of one
        runs = runs.filter(tags__icontains=json.dumps(tag))
    return runs
