"""Hostile input (issue #6): fuzz every operation of the API from its own OpenAPI schema.

Schemathesis loads /api/schema/ from the WSGI application, generates requests from it (its
coverage phase: boundary values, wrong types, missing fields, unexpected methods; then random
valid and invalid data) and sends them in-process, inside the test's transaction (nothing is
committed, so no run it queues reaches the broker), authenticated with a real API token of a
user who owns a ready dataset, an experiment with a queued run, metric points and an event.
Half the generated ids are swapped for those objects' ids, and half the experiment configs name
the dataset, so the id-taking endpoints see real rows as well as missing ones. No response may
be a 5xx, and each must match the schema: a documented status code, its content type and its
body schema. Each operation is a test of its own and starts from the same objects.

Bounded for CI: MAX_EXAMPLES random examples per operation after the coverage phase's fixed
cases, derandomized with a fixed seed, so every run sends the same ~2,000 requests (25-30 s on
SQLite, 30-40 s on PostgreSQL, on two cores). Raise MAX_EXAMPLES locally to search harder.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from downhill.accounts.services import token_create
from downhill.wsgi import application

MAX_EXAMPLES = 50  # per operation, in the fuzzing phase

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": 6,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",  # nothing replayed from earlier runs
            },
        }
    ),
)

# The fuzzing user's objects, by the path they are reached under; filled per test by `owned`,
# read by the strategies below when they draw.
OWNED: dict[str, int] = {}
OWNED_PATH = re.compile(r"^/api/v1/(datasets|experiments|runs|auth/tokens)/\{id\}/")


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the ids name the user's own object; the other half are whatever was generated.
    Only `id` is swapped: other path parameters (a download's `what`) keep their values."""
    match = OWNED_PATH.match(context.operation.path)
    if match is None or path_parameters is None:
        return st.just(path_parameters)
    owned = {**path_parameters, "id": OWNED[match.group(1)]}
    return st.sampled_from([path_parameters, owned])


@schema.hook
def flatmap_body(context, body):
    """An experiment config naming the user's dataset gets past the dataset check."""
    if isinstance(body, dict) and "dataset" in body:
        return st.sampled_from([body, {**body, "dataset": OWNED["datasets"]}])
    return st.just(body)


@pytest.fixture
def owned(user, run):
    from downhill.runs.services import metrics_record, run_events_record

    metrics_record(run.id, [("train_loss", step, 1.0 / step, 0.0) for step in range(1, 50)])
    run_events_record(run.id, [{"type": "lr_decay", "step": 20, "epoch": 2, "lr": 0.01}], 0.0)
    OWNED.update(
        {
            "datasets": run.experiment.dataset_id,
            "experiments": run.experiment_id,
            "runs": run.id,
            "auth/tokens": token_create(user=user, name="spare").token.id,
        }
    )
    yield OWNED
    OWNED.clear()


@pytest.fixture
def in_process_requests():
    """Django's test client keeps the test's transaction open by not closing connections at
    the start and end of a request; requests sent straight to the WSGI app need the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
# The fixtures are the world the examples of an operation act on, one after another, as a
# client's requests would (a token revoked, a run cancelled, the run quota filling up).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_hostile_input_without_5xx_and_as_documented(
    case, user, owned, in_process_requests
):
    # Read per case: fuzzing DELETE /auth/tokens/{id}/ may revoke the token of a moment ago.
    token = token_create(user=user, name="fuzz", replace=True).key
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
