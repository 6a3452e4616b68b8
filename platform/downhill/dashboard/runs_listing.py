"""The runs table: which runs, in which order. Sorting happens in the database, on the config
and summary keys each column shows, so a page of 50 costs one query however many runs exist."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import (
    Case,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Now

from downhill.runs.metadata import runs_matching
from downhill.runs.models import Run
from downhill.runs.selectors import runs_visible_to
from workers.contract.spec import OPTIMIZERS


def _config_number(key: str):
    return Cast(KeyTextTransform(key, "experiment__config"), FloatField())


# Column key -> what the database orders by. "full" batches sort after every number.
SORTS = {
    "run": F("id"),
    "status": F("status"),
    "dataset": F("experiment__dataset__name"),
    "optimizer": KeyTextTransform("optimizer", "experiment__config"),
    "learning_rate": _config_number("learning_rate"),
    "batch_size": Case(
        When(experiment__config__batch_size="full", then=Value(1e18)),
        default=_config_number("batch_size"),
        output_field=FloatField(),
    ),
    "momentum": _config_number("momentum"),
    "schedule": KeyTextTransform("type", KeyTransform("lr_schedule", "experiment__config")),
    "best_val_loss": Cast(KeyTextTransform("best_val_loss", "summary"), FloatField()),
    "val_accuracy": Cast(KeyTextTransform("best_val_accuracy", "summary"), FloatField()),
    "duration": ExpressionWrapper(
        Coalesce("finished_at", Now()) - F("started_at"), output_field=DurationField()
    ),
    "started": F("started_at"),
}
# A first click sorts these from the top down: the newest, the best accuracy, the longest.
DESCENDING_FIRST = {"run", "val_accuracy", "duration", "started"}
ACTIVE_STATUSES = (Run.Status.QUEUED, Run.Status.RUNNING)


@dataclass(frozen=True)
class RunsQuery:
    """The filters and sort of the runs table, as the URL carries them."""

    status: str = ""
    dataset: int | None = None
    optimizer: str = ""
    text: str = ""
    tag: str = ""
    sort: str = ""
    descending: bool = False

    @classmethod
    def from_params(cls, params) -> RunsQuery:
        """Unknown values are ignored (a stale bookmark shows every run, not an error)."""
        status = params.get("status", "")
        optimizer = params.get("optimizer", "")
        raw_dataset = params.get("dataset", "")
        sort = params.get("sort", "")
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        return cls(
            status=status if status in Run.Status.values else "",
            dataset=int(raw_dataset) if raw_dataset.isdigit() and len(raw_dataset) < 19 else None,
            optimizer=optimizer if optimizer in OPTIMIZERS else "",
            text=params.get("q", "").strip()[:200],
            tag=params.get("tag", "").strip()[:40],
            sort=sort if sort in SORTS else "",
            descending=descending and sort in SORTS,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.dataset or self.optimizer or self.text or self.tag)

    def params(self, **changes) -> dict[str, str]:
        """The query string's parameters, with `changes` applied (None removes one)."""
        values = {
            "status": self.status,
            "dataset": str(self.dataset or ""),
            "optimizer": self.optimizer,
            "q": self.text,
            "tag": self.tag,
            "sort": f"{'-' if self.descending else ''}{self.sort}" if self.sort else "",
        }
        values.update({key: "" if value is None else str(value) for key, value in changes.items()})
        return {key: value for key, value in values.items() if value}

    def url(self, **changes) -> str:
        params = self.params(**changes)
        return f"?{urlencode(params)}" if params else "?"

    def sort_link(self, column: str) -> tuple[str, str]:
        """(url, aria-sort) of a column header: a click sorts by it, a second click reverses."""
        if self.sort == column:
            flipped = "" if self.descending else "-"
            return self.url(sort=f"{flipped}{column}", page=None), (
                "descending" if self.descending else "ascending"
            )
        first = "-" if column in DESCENDING_FIRST else ""
        return self.url(sort=f"{first}{column}", page=None), "none"


def runs_for_table(user, query: RunsQuery) -> QuerySet[Run]:
    runs = runs_visible_to(user)
    if query.status:
        runs = runs.filter(status=query.status)
    if query.dataset:
        runs = runs.filter(experiment__dataset_id=query.dataset)
    if query.optimizer:
        runs = runs.filter(experiment__config__optimizer=query.optimizer)
    runs = runs_matching(runs, query.text, query.tag)
    if not query.sort:
        return runs  # the model's order: newest first
    key = SORTS[query.sort]
    order = key.desc(nulls_last=True) if query.descending else key.asc(nulls_last=True)
    return runs.order_by(order, "-id")
