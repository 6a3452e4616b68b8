"""The `downhill` command line. Exit codes: 0 succeeded, 1 the run failed or was cancelled,
2 bad usage or input (a 4xx), 3 server or network error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .. import __version__
from ..client import Client
from ..config import config_path
from ..errors import DownhillError
from ..runs import DOWNLOADS
from ..transport import RETRY_DELAYS
from .common import EXIT_RUN_FAILED, err, make_client, out
from .lab import lab
from .live import finished_message, watch_run
from .output import print_json, print_table, read_rows, write_predictions
from .sweeps import sweeps

RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url", envvar="DOWNHILL_URL", help="Server URL (else DOWNHILL_URL or the config file)."
)
@click.option(
    "--token", envvar="DOWNHILL_TOKEN", help="API token (else DOWNHILL_TOKEN or the config file)."
)
@click.option(
    "--retries",
    type=click.IntRange(0, len(RETRY_DELAYS)),
    default=len(RETRY_DELAYS),
    show_default=True,
    help="Times a read is retried, with backoff, while the server does not answer.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="downhill")
def cli(url, token, retries, debug):
    """Upload datasets, start runs and follow them on a Downhill server."""


@cli.command()
@click.option(
    "--url",
    "server",
    prompt="Server URL",
    default=lambda: os.environ.get("DOWNHILL_URL", "http://127.0.0.1:8000"),
)
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True, envvar="DOWNHILL_PASSWORD")
def login(server, username, password):
    """Get your API token and save it (with the URL) to the config file, mode 0600."""
    Client.login(server, username, password)
    err.print(
        f"Logged in to {server} as {username}; token saved to {config_path()}", highlight=False
    )


@cli.group()
def datasets():
    """Upload and list datasets."""


@datasets.command("upload")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--target", help="Column to predict (default: the last one).")
@click.option("--name", help="Dataset name (default: the file name).")
@click.option("--wait/--no-wait", default=False, help="Wait until the server has read it.")
@click.option("--json", "as_json", is_flag=True, help="Print the dataset as JSON.")
@click.pass_context
def datasets_upload(ctx, file, target, name, wait, as_json):
    """Upload FILE (CSV, NPZ or ZIP of images), streamed, with a progress bar."""
    client = make_client(ctx)
    columns = [BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bar:
        task = bar.add_task("upload", total=None)
        dataset = client.datasets.upload(
            file,
            name=name,
            target=target,
            wait=False,
            progress=lambda sent, total: bar.update(task, completed=sent, total=total),
        )
    if wait and dataset.status == "processing":
        with err.status(f"dataset {dataset.id}: the server is reading it"):
            dataset = client.datasets.wait(dataset.id)
    if as_json:
        print_json(dataset.raw)
    else:
        err.print(f"dataset {dataset.id} {dataset.name}: {dataset.status}", highlight=False)
        click.echo(dataset.id)


@datasets.command("ls")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def datasets_ls(ctx, as_json):
    """List your datasets."""
    items = make_client(ctx).datasets.list()
    if as_json:
        return print_json([d.raw for d in items])
    rows = [[d.id, d.name, d.status, d.n_rows, d.target, d.task, d.size_bytes] for d in items]
    print_table(out, ["id", "name", "status", "rows", "target", "task", "bytes"], rows)


@cli.command("run")
@click.option(
    "-c",
    "--config",
    "config_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Experiment config, YAML or JSON.",
)
@click.option("--dataset", type=int, help="Dataset id (overrides the file's).")
@click.option("--watch", is_flag=True, help="Follow the run until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the experiment as JSON.")
@click.pass_context
def run(ctx, config_file, dataset, watch, as_json):
    """Create an experiment from a config file; its first run is queued."""
    client = make_client(ctx)
    experiment = client.experiments.create(config_file, dataset=dataset)
    if as_json:
        print_json(experiment.raw)
    else:
        err.print(f"experiment {experiment.id}: run {experiment.run} queued", highlight=False)
        click.echo(experiment.run)
    return _watch(client, experiment.run) if watch else 0


def _watch(client: Client, run_id: int) -> int:
    finished = watch_run(client.runs, run_id, err)
    err.print(finished_message(finished), highlight=False)
    return 0 if finished.succeeded else EXIT_RUN_FAILED


@cli.group()
def runs():
    """List, follow, cancel and use runs."""


@runs.command("ls")
@click.option("--status", type=click.Choice(RUN_STATUSES))
@click.option("--experiment", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_ls(ctx, status, experiment, as_json):
    """List your runs, newest first."""
    items = make_client(ctx).runs.list(status=status, experiment=experiment)
    if as_json:
        return print_json([r.raw for r in items])
    rows = [
        [
            r.id,
            r.experiment,
            r.status,
            f"{r.progress.step}/{r.progress.steps}",
            r.summary.get("best_val_loss"),
            r.created_at,
        ]
        for r in items
    ]
    print_table(out, ["id", "experiment", "status", "steps", "best_val_loss", "created"], rows)


@runs.command("watch")
@click.argument("run_id", type=int)
@click.pass_context
def runs_watch(ctx, run_id):
    """Follow a run until it ends (exit 1 when it failed or was cancelled)."""
    return _watch(make_client(ctx), run_id)


@runs.command("cancel")
@click.argument("run_id", type=int)
@click.pass_context
def runs_cancel(ctx, run_id):
    """Cancel a queued or running run."""
    r = make_client(ctx).runs.cancel(run_id)
    err.print(f"run {r.id}: {r.status}", highlight=False)


@runs.command("resume")
@click.argument("run_id", type=int)
@click.option("--watch", is_flag=True)
@click.pass_context
def runs_resume(ctx, run_id, watch):
    """Go on with a cancelled run from its checkpoint (a new run)."""
    client = make_client(ctx)
    r = client.runs.resume(run_id)
    err.print(f"run {r.id} queued, resuming run {run_id}", highlight=False)
    click.echo(r.id)
    return _watch(client, r.id) if watch else 0


@runs.command("metrics")
@click.argument("run_id", type=int)
@click.option("--name", "names", multiple=True, help="Series to read (repeatable; default all).")
@click.option("--csv", "as_csv", is_flag=True, help="One row per step, one column per series.")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "-o", "--output", type=click.File("w"), default="-", help="File to write (default stdout)."
)
@click.pass_context
def runs_metrics(ctx, run_id, names, as_csv, as_json, output):
    """A run's metric series."""
    metrics = make_client(ctx).runs.metrics(run_id, names)
    if as_csv:
        return metrics.write_csv(output)
    if as_json:
        return print_json({n: vars(s) for n, s in metrics.series.items()})
    rows = [
        [
            n,
            len(s.steps),
            s.steps[-1] if s.steps else None,
            s.values[-1] if s.values else None,
            min(s.values, default=None),
        ]
        for n, s in metrics.series.items()
    ]
    print_table(out, ["series", "points", "last step", "last", "min"], rows)


@runs.command("predict")
@click.argument("run_id", type=int)
@click.argument("rows_file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_predict(ctx, run_id, rows_file, as_json):
    """Predict the rows of a CSV (header row; every feature column) with a run's model."""
    predictions = make_client(ctx).runs.predict(run_id, read_rows(rows_file))
    return print_json(predictions) if as_json else write_predictions(predictions)


@cli.group()
def model():
    """The trained model and the files around it."""


@model.command("download")
@click.argument("run_id", type=int)
@click.option("--format", "what", type=click.Choice(list(DOWNLOADS)), default="onnx",
              show_default=True, help="Which file: the model as ONNX or TorchScript, a "
              "checkpoint (best, last), the preprocessing (inference) or the config.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Where to save it.")
@click.pass_context
def model_download(ctx, run_id, what, output):
    """Save a finished run's model (or another of its files); prints where."""
    click.echo(make_client(ctx).runs.download(run_id, what, output))


cli.add_command(sweeps)
cli.add_command(lab)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = cli.main(args=args, prog_name="downhill", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (DownhillError, OSError) as exc:
        if "--debug" in args:
            raise
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        code = getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code or 0)
