"""Listings as tables for people or JSON for scripts; CSV files read as predict rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..errors import BadInput


def print_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def print_table(console: Console, columns: list[str], rows: list[list]) -> None:
    table = Table(*columns, box=None, header_style="bold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def read_rows(path: Path) -> list[dict]:
    """A CSV with a header row as {column: text} dicts; empty cells are missing values."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return [
                {k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)
            ]
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None


def write_predictions(predictions: list[dict]) -> None:
    """label and one p_<class> column per class, or value (regression), as CSV on stdout."""
    out = click.get_text_stream("stdout")
    first = predictions[0] if predictions else {}
    scores = (
        "probabilities" if "probabilities" in first else "scores" if "scores" in first else None
    )
    classes = list(first[scores]) if scores else []
    prefix = "p_" if scores == "probabilities" else "score_"
    writer = csv.writer(out, lineterminator="\n")
    if "value" in first:
        writer.writerow(["value"])
        writer.writerows([p["value"]] for p in predictions)
        return
    writer.writerow(["label", *(prefix + c for c in classes)])
    writer.writerows([p["label"], *(p[scores][c] for c in classes)] for p in predictions)
