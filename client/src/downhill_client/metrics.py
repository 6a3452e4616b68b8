"""A run's metric series: plain lists, wide rows (one per step), CSV, or a pandas DataFrame."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import IO


@dataclass
class Series:
    steps: list[int]
    values: list[float]


class Metrics:
    def __init__(self, series: dict[str, dict]):
        self.series = {
            name: Series(list(s["steps"]), list(s["values"])) for name, s in series.items()
        }

    def __getitem__(self, name: str) -> Series:
        return self.series[name]

    @property
    def names(self) -> list[str]:
        return list(self.series)

    def rows(self) -> list[list]:
        """[step, value of each series or None], one row per step any series has, in order."""
        by_step: dict[int, list] = {}
        for i, series in enumerate(self.series.values()):
            for step, value in zip(series.steps, series.values, strict=True):
                by_step.setdefault(step, [None] * len(self.series))[i] = value
        return [[step, *by_step[step]] for step in sorted(by_step)]

    def write_csv(self, out: IO[str]) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["step", *self.names])
        for row in self.rows():
            writer.writerow(["" if v is None else v for v in row])

    def to_dataframe(self):
        """A DataFrame indexed by step, one column per series (NaN where a series has no point
        at that step). Needs pandas: `pip install downhill-client[pandas]`."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Metrics.to_dataframe needs pandas: pip install 'downhill-client[pandas]'"
            ) from None
        rows = self.rows()
        frame = pd.DataFrame([row[1:] for row in rows], columns=self.names, dtype="float64")
        frame.index = pd.Index([row[0] for row in rows], name="step")
        return frame
