"""`downhill sweeps`: create (and follow), list, show with its trials, cancel."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import click

from ..models import Sweep, Trial
from .common import EXIT_RUN_FAILED, err, make_client, out
from .live import duration
from .output import print_json, print_table


@click.group()
def sweeps():
    """Hyperparameter searches: each trial is an ordinary run."""


def _number(value) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _params(params: dict) -> str:
    return " ".join(f"{k}={_number(v)}" for k, v in params.items())


def progress_line(sweep: Sweep) -> str:
    """One line: state, trials done of the budget by state, the best so far, the ETA."""
    p = sweep.progress
    parts = [
        f"sweep {sweep.id} {sweep.status}",
        f"{p.done}/{p.max_trials} trials done ({p.complete} complete, {p.pruned} pruned, "
        f"{p.failed} failed, {p.running} running)",
    ]
    if sweep.best is not None:
        parts.append(
            f"best {sweep.objective} {_number(sweep.best.value)} (trial {sweep.best.number})"
        )
    if p.eta_seconds is not None and not sweep.finished:
        parts.append(f"ETA {duration(p.eta_seconds)}")
    return " · ".join(parts)


def follow(client, sweep_id: int) -> int:
    """Follow the sweep to its end: a line whenever its progress changes; exit code."""
    last = [""]

    def on_update(sweep: Sweep) -> None:
        line = progress_line(sweep)
        if line != last[0]:
            last[0] = line
            err.print(line, highlight=False, soft_wrap=True)

    with err.status(f"sweep {sweep_id}: trials training") if err.is_terminal else nullcontext():
        sweep = client.sweeps.wait(sweep_id, on_update)
    return 0 if sweep.status == "finished" and sweep.best is not None else EXIT_RUN_FAILED


@sweeps.command("create")
@click.option("-c", "--config", "spec_file", required=True, type=click.Path(path_type=Path),
              help="The sweep, YAML or JSON: name, base, space, method, objective, ...")  # fmt: skip
@click.option("--dataset", type=int, help="Dataset id (overrides the base config's).")
@click.option("--watch", is_flag=True, help="Follow the sweep until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the sweep as JSON.")
@click.pass_context
def sweeps_create(ctx, spec_file, dataset, watch, as_json):
    """Create a sweep from a file; its first trials are queued. Prints its id."""
    client = make_client(ctx)
    sweep = client.sweeps.create(spec_file, dataset=dataset)
    if as_json:
        print_json(sweep.raw)
    else:
        err.print(f"sweep {sweep.id} ({sweep.name}): {sweep.status}", highlight=False)
        click.echo(sweep.id)
    return follow(client, sweep.id) if watch else 0


@sweeps.command("ls")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sweeps_ls(ctx, as_json):
    """List your sweeps, newest first."""
    items = make_client(ctx).sweeps.list()
    if as_json:
        return print_json([s.raw for s in items])
    rows = [
        [
            s.id,
            s.name,
            s.status,
            s.method,
            f"{s.progress.done}/{s.progress.max_trials}",
            s.objective,
            _number(s.best.value) if s.best else None,
        ]
        for s in items
    ]
    print_table(out, ["id", "name", "status", "method", "trials", "objective", "best"], rows)


def trial_row(trial: Trial) -> list:
    return [trial.number, trial.state, _number(trial.value), _params(trial.params), trial.run,
            trial.why]  # fmt: skip


@sweeps.command("show")
@click.argument("sweep_id", type=int)
@click.option("--json", "as_json", is_flag=True, help='{"sweep": ..., "trials": [...]}')
@click.pass_context
def sweeps_show(ctx, sweep_id, as_json):
    """A sweep's progress, its best trial and every trial (with why it was pruned)."""
    client = make_client(ctx)
    sweep, trials = client.sweeps.get(sweep_id), client.sweeps.trials(sweep_id)
    if as_json:
        return print_json({"sweep": sweep.raw, "trials": [t.raw for t in trials]})
    out.print(f"{sweep.name}: {progress_line(sweep)}", highlight=False, soft_wrap=True)
    if sweep.best is not None:
        best = sweep.best
        out.print(
            f"best: trial {best.number}, {sweep.objective} {_number(best.value)} "
            f"({sweep.direction}), run {best.run}: {_params(best.params)}",
            highlight=False,
            soft_wrap=True,
        )
    columns = ["trial", "state", sweep.objective or "value", "params", "run", "why"]
    print_table(out, columns, [trial_row(t) for t in trials])


@sweeps.command("cancel")
@click.argument("sweep_id", type=int)
@click.pass_context
def sweeps_cancel(ctx, sweep_id):
    """Cancel a sweep: queued trials are cancelled, running ones stopped."""
    sweep = make_client(ctx).sweeps.cancel(sweep_id)
    err.print(f"sweep {sweep.id}: {sweep.status}", highlight=False)
