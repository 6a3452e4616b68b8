"""The live view of a run: a rich panel on a terminal, a line per epoch elsewhere."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from ..models import Run
from ..runs import Runs
from ..watch import Snapshot

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 48
STATUS_STYLE = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


def sparkline(values: list[float], width: int = SPARK_WIDTH) -> str:
    """The values as block characters, averaged into at most `width` buckets."""
    if not values:
        return ""
    n = min(width, len(values))
    buckets = [values[i * len(values) // n : (i + 1) * len(values) // n] for i in range(n)]
    means = [sum(b) / len(b) for b in buckets]
    low, high = min(means), max(means)
    span = (high - low) or 1.0
    return "".join(BARS[round((m - low) / span * (len(BARS) - 1))] for m in means)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def status_line(s: Snapshot) -> str:
    """One line of text: what a log or a pipe gets."""
    p = s.run.progress
    parts = [
        f"run {s.run.id} {s.run.status}",
        f"epoch {p.epoch}/{p.epochs}",
        f"step {p.step}/{p.steps}",
    ]
    if s.steps_per_s:
        parts.append(f"{s.steps_per_s:.1f} steps/s, ETA {duration(s.eta_s)}")
    if s.train_loss:
        parts.append(f"train_loss {s.train_loss[-1]:.4g}")
    if s.val_loss is not None:
        parts.append(f"val_loss {s.val_loss:.4g}")
    return " · ".join(parts)


def panel(s: Snapshot) -> Group:
    p = s.run.progress
    style = STATUS_STYLE.get(s.run.status, "")
    title = Text.assemble(f"Run {s.run.id} ", (s.run.status, style), f"  {s.run.device}".rstrip())
    bar = ProgressBar(total=max(p.steps, 1), completed=p.step, width=SPARK_WIDTH)
    speed = f"{s.steps_per_s:.1f} steps/s" if s.steps_per_s else "— steps/s"
    counts = Text(
        f"epoch {p.epoch}/{p.epochs}  step {p.step}/{p.steps}  {speed}  ETA {duration(s.eta_s)}"
    )
    train = f"{s.train_loss[-1]:.4g}" if s.train_loss else "—"
    val = f"{s.val_loss:.4g}" if s.val_loss is not None else "—"
    losses = Text(f"train_loss {train}   val_loss {val}")
    spark = Text(sparkline(s.train_loss), style="cyan")
    return Group(title, bar, counts, losses, spark)


def watch_run(runs: Runs, run_id: int, console: Console, interval: float = 1.0) -> Run:
    """Follow the run to its end in the view that fits the console; returns the finished run."""
    if console.is_terminal:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            return runs.watch(run_id, lambda s: live.update(panel(s)), interval)
    last_epoch = [-1]

    def line_per_epoch(s: Snapshot) -> None:
        if s.run.progress.epoch != last_epoch[0] or s.run.finished:
            last_epoch[0] = s.run.progress.epoch
            console.print(status_line(s), highlight=False)

    return runs.watch(run_id, line_per_epoch, interval)


def finished_message(run: Run) -> str:
    if run.succeeded:
        loss = run.summary.get("final_val_loss", run.summary.get("best_val_loss"))
        return f"run {run.id} succeeded" + (f" (val_loss {loss:.4g})" if loss is not None else "")
    return f"run {run.id} {run.status}" + (f": {run.error}" if run.error else "")
