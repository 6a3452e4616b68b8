"""Data migrations of datasets, applied to rows written under the schema before them."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_SENT_AT = ("datasets", "0002_arrays_and_details")
SENT_AT = ("datasets", "0003_dataset_sent_at")


def migrate(target: tuple[str, str]):
    """Migrate the datasets app to `target`; returns the app registry of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def migrate_to_latest():
    """Every app back at its latest migration: going back to `target` also unapplied the apps
    that depend on the datasets app (runs, sweeps, lab ...), which the other tests need."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()
    return executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps


def test_datasets_processing_before_sent_at_count_as_sent_and_the_others_as_never_sent(user):
    old = migrate(BEFORE_SENT_AT)
    try:
        dataset = old.get_model("datasets", "Dataset")
        created = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
        ids = {
            status: dataset.objects.create(owner_id=user.id, name=status, status=status).id
            for status in ("processing", "ready", "failed")
        }
        dataset.objects.update(created_at=created)
    finally:
        new = migrate_to_latest()  # the schema the other tests expect, whatever happened

    sent_at = dict(new.get_model("datasets", "Dataset").objects.values_list("id", "sent_at"))
    assert sent_at == {ids["processing"]: created, ids["ready"]: None, ids["failed"]: None}
