"""The lab's jobs through their lifecycle: created by a user (and sent to a training worker
after the commit), claimed, fed points and finished by the worker, cancelled by the user."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from downhill.celery import send_by_name
from downhill.experiments.selectors import experiments_visible_to
from workers.contract.lab import RANGE_TEST_TASK, range_params
from workers.contract.tasks import TRAINING_QUEUE

from .models import RangeTest

log = logging.getLogger(__name__)
S = RangeTest.Status


def range_test_create(*, owner, data) -> RangeTest:
    """Validate and queue a range test of one of the owner's experiments. Raises
    ValidationError naming the field; on error nothing is created."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    params, errors = range_params(data)
    experiment = _experiment(owner, data.get("experiment"), errors)
    if errors:
        raise ValidationError(errors)
    test = RangeTest.objects.create(owner=owner, experiment=experiment, params=params,
                                    series={"lr": [], "loss": [], "smoothed": []})  # fmt: skip
    transaction.on_commit(lambda: _send(test.id))
    return test


def _experiment(owner, value, errors: dict):
    if isinstance(value, bool) or not isinstance(value, int):
        errors["experiment"] = ["the id of one of your experiments."]
        return None
    experiment = experiments_visible_to(owner).filter(pk=value).first()
    if experiment is None:
        errors["experiment"] = [f"no experiment {value} of yours."]
    return experiment


def _send(test_id: int) -> None:
    try:
        send_by_name(RANGE_TEST_TASK, args=[test_id], queue=TRAINING_QUEUE)
    except Exception:  # noqa: BLE001 (any transport error: the test cannot start)
        log.warning("could not send range test %s to the broker", test_id)
        range_test_finish(test_id, S.FAILED, error="The broker did not take the job; try again.")


def range_test_request_cancel(test: RangeTest) -> RangeTest:
    """Cancel a queued test at once; ask a running one's worker to stop at its next step."""
    if not RangeTest.objects.filter(pk=test.id, status=S.QUEUED).update(
        status=S.CANCELLED, finished_at=timezone.now(), stop_reason="cancelled"
    ):
        RangeTest.objects.filter(pk=test.id, status=S.RUNNING).update(cancel_requested=True)
    test.refresh_from_db()
    return test


# --- the worker's side ---
def range_test_claim(test_id: int) -> bool:
    """Queued -> running; False when it is not queued (cancelled, or taken)."""
    return bool(RangeTest.objects.filter(pk=test_id, status=S.QUEUED).update(status=S.RUNNING))


def range_test_progress(test_id: int, series: dict) -> bool:
    """Store the series so far; returns whether a cancel was asked."""
    RangeTest.objects.filter(pk=test_id, status=S.RUNNING).update(series=series)
    return RangeTest.objects.filter(pk=test_id, cancel_requested=True).exists()


def range_test_finish(test_id: int, status: str, **fields) -> None:
    """The end of a test: its status, and its series, suggestions, stop reason or error."""
    RangeTest.objects.filter(pk=test_id, status__in=(S.QUEUED, S.RUNNING)).update(
        status=status, finished_at=timezone.now(), **fields
    )
