"""What one user may have in flight on the shared training queue: at most
DOWNHILL_MAX_ACTIVE_RUNS runs queued or running, holding together at most
DOWNHILL_MAX_STEPS_IN_FLIGHT training steps not yet trained (one run of millions of steps
counts as what it is). Checked inside the transaction that inserts the run, with the owner's
row locked, so concurrent requests are counted one after another."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model

from workers.contract.splits import steps_per_epoch, train_rows

from .models import Run

ACTIVE = (Run.Status.QUEUED, Run.Status.RUNNING)


class QuotaExceeded(Exception):
    """Past the owner's run or step limit (answered 429); the message says which and what is
    left."""


# What a config saved before a key existed meant by leaving it out.
OLDER_CONFIG_DEFAULTS = {"validation_split": 0.2, "test_split": 0.0}


def planned_steps(experiment) -> int:
    """The optimizer steps a run of this experiment plans (what the preview shows)."""
    config = {**OLDER_CONFIG_DEFAULTS, **experiment.config}
    return sum(steps_per_epoch(train_rows(experiment.dataset.n_rows, config), config))


def run_quota_check(experiment) -> None:
    """Raise QuotaExceeded if one more run of `experiment` passes its owner's limits. Call it
    inside the transaction that inserts the run: on PostgreSQL it locks the owner's row until
    the commit; SQLite's IMMEDIATE transactions hold the database's write lock already."""
    owner_id = experiment.owner_id
    list(get_user_model().objects.select_for_update().filter(pk=owner_id).values("pk"))
    active = list(
        Run.objects.filter(experiment__owner_id=owner_id, status__in=ACTIVE).select_related(
            "experiment__dataset"
        )
    )
    limit = settings.DOWNHILL_MAX_ACTIVE_RUNS
    if len(active) >= limit:
        raise QuotaExceeded(
            f"You have {len(active)} runs queued or running; the limit is {limit} "
            "(DOWNHILL_MAX_ACTIVE_RUNS). Wait for one to finish, or cancel one, then try again."
        )
    in_flight = sum(max(0, planned_steps(run.experiment) - run.step) for run in active)
    wanted, steps_limit = planned_steps(experiment), settings.DOWNHILL_MAX_STEPS_IN_FLIGHT
    if in_flight + wanted > steps_limit:
        raise QuotaExceeded(
            f"This run plans {wanted:,} training steps and your queued and running runs have "
            f"{in_flight:,} still to train; the limit is {steps_limit:,} steps in flight "
            f"(DOWNHILL_MAX_STEPS_IN_FLIGHT), so {max(0, steps_limit - in_flight):,} are left. "
            "Plan fewer steps (fewer epochs, a larger batch_size), or wait for a run to finish."
        )
