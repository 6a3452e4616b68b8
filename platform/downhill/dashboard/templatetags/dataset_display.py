"""A dataset's columns on its page: statistics to four digits and small SVG histograms.

The bars are drawn here, as SVG attributes (no inline styles, no script), so the page shows
them before any JavaScript runs.
"""

from __future__ import annotations

import math

from django import template

register = template.Library()

NONE = "—"
HIST_WIDTH, HIST_HEIGHT = 160, 36


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@register.filter
def stat(value) -> str:
    """A column statistic: whole numbers in full, others to four significant digits."""
    if not _is_number(value):
        return NONE
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


@register.filter
def share(part, whole) -> str:
    if not _is_number(part) or not _is_number(whole) or not whole:
        return ""
    return f"{part / whole * 100:.1f}%"


@register.inclusion_tag("dashboard/_histogram.html")
def histogram(column: dict) -> dict:
    """Bars of a numeric column's histogram, with a title per bar (its range and count)."""
    data = column.get("histogram") or {}
    counts, edges = data.get("counts") or [], data.get("edges") or []
    if not counts or len(edges) != len(counts) + 1:
        return {"bars": []}
    tallest = max(counts) or 1
    slot = HIST_WIDTH / len(counts)
    bars = []
    for i, count in enumerate(counts):
        height = count / tallest * (HIST_HEIGHT - 2)
        if count and height < 1.5:
            height = 1.5  # a bin with a few rows must not look empty
        bars.append(
            {
                "x": round(i * slot + 0.5, 2),
                "y": round(HIST_HEIGHT - height, 2),
                "width": round(max(slot - 1, 0.5), 2),
                "height": round(height, 2),
                "title": f"{edges[i]:.4g} to {edges[i + 1]:.4g}: {count:,} rows",
            }
        )
    return {
        "bars": bars,
        "width": HIST_WIDTH,
        "height": HIST_HEIGHT,
        "low": stat(edges[0]),
        "high": stat(edges[-1]),
        "estimated": data.get("estimated"),
    }


@register.inclusion_tag("dashboard/_top_values.html")
def top_values(column: dict, limit: int = 5) -> dict:
    """The most frequent values of a text column, each with a bar for its count."""
    values = (column.get("top_values") or [])[:limit]
    tallest = max((count for _, count in values), default=0) or 1
    return {
        "values": [
            {"value": value, "count": count, "width": round(count / tallest * 100, 1)}
            for value, count in values
        ],
        "more": max(0, (column.get("distinct") or 0) - len(values)),
    }


def _shape(value) -> str:
    return " × ".join(str(n) for n in value) if isinstance(value, list) else str(value)


def _files(value) -> str:
    """Members of an archive left out: a count (what datasets.images records)."""
    if isinstance(value, list):  # a list of names, should one ever be recorded
        return ", ".join(map(str, value)) or NONE
    return f"{value:,} file{'s' if value != 1 else ''} that are not images" if value else NONE


# What an NPZ or an image archive records about itself (datasets.intake), in words.
DETAIL_LABELS = {
    "kind": ("Holds", lambda v: "images" if v == "images" else "a table of numbers"),
    "x_shape": ("Array X", _shape),
    "x_dtype": ("X type", str),
    "y_dtype": ("y type", str),
    "image_shape": ("Images", lambda v: f"{_shape(v)} (channels × height × width)"),
    "color": ("Colour", str),
    "classes": ("Classes", lambda v: ", ".join(f"{name} ({n:,})" for name, n in v.items())),
    "source_sizes": ("Sizes uploaded", lambda v: ", ".join(f"{size} ({n:,})" for size, n in v)),
    "resized": ("Resized", lambda v: f"{v:,} image{'s' if v != 1 else ''}"),
    "ignored_members": ("Left out", lambda v: _files(v)),
    "ignored_arrays": ("Left out", lambda v: ", ".join(map(str, v)) or NONE),
}


@register.filter
def detail_rows(details) -> list[tuple[str, str]]:
    """(label, text) for the details a dataset's format records; unknown keys are skipped."""
    if not isinstance(details, dict):
        return []
    return [
        (DETAIL_LABELS[key][0], DETAIL_LABELS[key][1](value))
        for key, value in details.items()
        if key in DETAIL_LABELS and value not in (None, "", [], {})
    ]
