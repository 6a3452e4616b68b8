"""The playground through its lifecycle: created by a user and sent to a training worker after
the commit, waited for (it takes about a second), claimed and finished by the worker.

Stored rather than computed per request: the page of a playground can be opened again, shared
and listed, the API answers with the same representation as the other lab jobs, and the web
never imports torch (the paths are the engine's optimizers). The POST waits for the worker up
to WAIT_SECONDS, so a client has the drawing in the answer on an idle worker, and a status to
poll when the queue is busy."""

from __future__ import annotations

import logging
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from downhill.celery import send_by_name
from downhill.datasets.selectors import datasets_visible_to
from workers.contract.playground import PLAYGROUND_TASK, playground_params
from workers.contract.tasks import TRAINING_QUEUE

from .playground_models import Playground

log = logging.getLogger(__name__)
S = Playground.Status
WAIT_SECONDS = 10.0  # the POST's longest wait for the worker; the job itself takes ~1 s
POLL_SECONDS = 0.05


def playgrounds_visible_to(user) -> QuerySet[Playground]:
    qs = Playground.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def playground_create(*, owner, data) -> Playground:
    """Validate and queue a playground. Raises ValidationError naming the field; on error
    nothing is created."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    params, errors = playground_params(data)
    dataset = _dataset(owner, data.get("dataset"), errors)
    if errors:
        raise ValidationError(errors)
    playground = Playground.objects.create(owner=owner, dataset=dataset, params=params)
    transaction.on_commit(lambda: _send(playground.id))
    return playground


def _dataset(owner, value, errors: dict):
    """None (the generated line) or a ready one-feature regression dataset of the owner's."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        errors["dataset"] = ["the id of one of your datasets, or null for generated points."]
        return None
    dataset = datasets_visible_to(owner).filter(pk=value).first()
    if dataset is None:
        errors["dataset"] = [f"no dataset {value} of yours."]
    elif problem := one_feature_regression_problem(dataset):
        errors["dataset"] = [problem]
    return dataset


def one_feature_regression_problem(dataset) -> str:
    """Why the dataset cannot be the playground's points ('' when it can)."""
    features = [c for c in dataset.columns if c["name"] != dataset.target]
    if dataset.status != dataset.Status.READY:
        return f"dataset {dataset.id} is {dataset.status}, not ready."
    if dataset.task != dataset.Task.REGRESSION or not dataset.target:
        return f"dataset {dataset.id} is not a regression dataset (its task: {dataset.task or 'none'})."
    if len(features) != 1 or features[0]["dtype"] != "numeric":
        names = ", ".join(c["name"] for c in features)
        return (f"dataset {dataset.id} must have exactly one numeric feature besides its target "
                f"{dataset.target!r}; it has: {names}.")  # fmt: skip
    return ""


def _send(playground_id: int) -> None:
    try:
        send_by_name(PLAYGROUND_TASK, args=[playground_id], queue=TRAINING_QUEUE)
    except Exception:  # noqa: BLE001 (any transport error: the job cannot start)
        log.warning("could not send playground %s to the broker", playground_id)
        playground_finish(
            playground_id, S.FAILED, error="The broker did not take the job; try again."
        )


def playground_wait(playground: Playground, seconds: float | None = None) -> Playground:
    """The playground once the worker has finished it, or as it is after `seconds`."""
    if transaction.get_connection().in_atomic_block:
        return playground  # the worker cannot see the row before this transaction commits
    deadline = time.monotonic() + (WAIT_SECONDS if seconds is None else seconds)
    while playground.active and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        playground.refresh_from_db()
    return playground


class AlreadyFinished(Exception):
    """A cancel of a playground that has already ended."""


def playground_cancel(playground: Playground) -> Playground:
    """Cancel a queued or running playground at once: a queued one never starts (the worker's
    claim takes only queued ones) and a running one's result is dropped (its finish updates
    only a queued or running row). One that has ended raises AlreadyFinished."""
    ended = not Playground.objects.filter(
        pk=playground.id, status__in=(S.QUEUED, S.RUNNING)
    ).update(status=S.CANCELLED, finished_at=timezone.now())
    playground.refresh_from_db()
    if ended:
        raise AlreadyFinished(
            f"Playground {playground.id} has already ended ({playground.status})."
        )
    return playground


# --- the worker's side ---
def playground_claim(playground_id: int) -> bool:
    """Queued -> running; False when it is not queued (taken by another delivery)."""
    return bool(
        Playground.objects.filter(pk=playground_id, status=S.QUEUED).update(status=S.RUNNING)
    )


def playground_finish(playground_id: int, status: str, **fields) -> None:
    """The end of a playground: its status, and its result or error."""
    Playground.objects.filter(pk=playground_id, status__in=(S.QUEUED, S.RUNNING)).update(
        status=status, finished_at=timezone.now(), **fields
    )
