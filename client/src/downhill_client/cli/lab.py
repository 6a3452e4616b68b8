"""`downhill lab`: the optimization lab's analyses (an LR range test)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import click

from ..models import RangeTest
from .common import EXIT_RUN_FAILED, err, make_client, out
from .output import print_json

MODES = ["exponential", "linear"]


@click.group()
def lab():
    """Analyses of an experiment's config: the LR range test."""


def suggestions_text(test: RangeTest) -> list[str]:
    """The suggested learning rates, one per line, then the warning when they disagree."""
    s = test.suggestions
    named = [
        ("steepest", s.steepest, "steepest fall of the smoothed loss"),
        ("min_div_10", s.min_div_10, "the loss's minimum / 10"),
        ("valley", s.valley, "fastai's valley"),
    ]
    lines = [
        f"{name:<11} {value:.3g}   ({what})" for name, value, what in named if value is not None
    ]
    if s.warning:
        lines.append(f"warning: {s.warning}")
    return lines


@lab.command("lr-find")
@click.option("-c", "--config", "spec_file", type=click.Path(path_type=Path),
              help="The test, YAML or JSON: experiment, start_lr, end_lr, steps, mode.")  # fmt: skip
@click.option("--experiment", type=int, help="Experiment whose config is tested (overrides the file's).")  # fmt: skip
@click.option("--run", "run_id", type=int, help="Or a run: its experiment's config is tested.")
@click.option("--start-lr", type=float, help="First learning rate (default 1e-7).")
@click.option("--end-lr", type=float, help="Last learning rate (default 10).")
@click.option("--steps", type=int, help="Steps, one learning rate each (default 100).")
@click.option("--mode", type=click.Choice(MODES), help="How the rate grows (default exponential).")
@click.option("--json", "as_json", is_flag=True, help="Print the finished test as JSON.")
@click.pass_context
def lr_find(ctx, spec_file, experiment, run_id, start_lr, end_lr, steps, mode, as_json):
    """Run an LR range test of an experiment's config on a training worker, wait, and print
    the suggested learning rates (with a warning when they disagree)."""
    if spec_file is None and experiment is None and run_id is None:
        raise click.UsageError("give the test as -c FILE, or name the --experiment or a --run.")
    client = make_client(ctx)
    if run_id is not None and experiment is None:
        experiment = client.runs.get(run_id).experiment
    test = client.lab.range_test(
        spec_file, experiment=experiment, start_lr=start_lr, end_lr=end_lr, steps=steps, mode=mode
    )
    waiting = err.status(f"range test {test.id}: training") if err.is_terminal else nullcontext()
    try:
        err.print(f"range test {test.id} of experiment {test.experiment}: {test.status}",
                  highlight=False)  # fmt: skip
        with waiting:
            test = client.lab.wait(test.id)
    except KeyboardInterrupt:  # nobody is waiting for it any more: free the worker
        client.lab.cancel(test.id)
        err.print(f"range test {test.id} cancelled", highlight=False)
        raise
    if as_json:
        print_json(test.raw)
    elif test.succeeded:
        out.print(f"range test {test.id}: {test.stop_reason}", highlight=False, soft_wrap=True)
        for line in suggestions_text(test):
            out.print(line, highlight=False, soft_wrap=True)
    if not test.succeeded:
        err.print(f"range test {test.id} {test.status}" + (f": {test.error}" if test.error else ""),
                  highlight=False, soft_wrap=True)  # fmt: skip
        return EXIT_RUN_FAILED
    return 0
