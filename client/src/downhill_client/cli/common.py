"""What every command shares: the consoles, the client from the global options, exit codes."""

from __future__ import annotations

import click
from rich.console import Console

from ..client import Client
from ..transport import RETRY_DELAYS

EXIT_RUN_FAILED = 1  # the run (sweep, range test) failed or was cancelled

out = Console()
err = Console(stderr=True)


def make_client(ctx: click.Context) -> Client:
    options = ctx.find_root().params
    return Client(
        options["url"],
        options["token"],
        on_retry=lambda m: err.print(m, style="yellow", highlight=False, soft_wrap=True),
        retry_delays=RETRY_DELAYS[: options["retries"]],
    )
