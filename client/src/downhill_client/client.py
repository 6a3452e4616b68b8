"""The entry point: `Client()` reads DOWNHILL_URL / DOWNHILL_TOKEN or the config file."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from .config import config_path, resolve, write_config
from .datasets import Datasets
from .experiments import Experiments
from .lab import Lab
from .runs import Runs
from .sweeps import Sweeps
from .transport import Transport


class Client:
    """`Client(url, token)`, or no arguments to take them from the environment or the file
    `downhill login` wrote. `on_retry` hears about reads being retried."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        config: Path | None = None,
        timeout: float = 30.0,
        on_retry: Callable[[str], None] | None = None,
        retry_delays=None,
    ):
        settings = resolve(url, token, config)
        extra = {} if retry_delays is None else {"retry_delays": retry_delays}
        self.url, self.token = settings.url, settings.token
        self._t = Transport(
            settings.url, settings.token, timeout=timeout, on_retry=on_retry, **extra
        )
        self.datasets = Datasets(self._t)
        self.experiments = Experiments(self._t)
        self.runs = Runs(self._t)
        self.sweeps = Sweeps(self._t)
        self.lab = Lab(self._t)

    @classmethod
    def login(
        cls,
        url: str,
        username: str,
        password: str,
        *,
        token_name: str | None = None,
        save: bool = True,
        config: Path | None = None,
    ) -> Client:
        """Trade a username and password for a new API token named `token_name` (by default
        `downhill-cli@<this host>`: logging in again replaces only this machine's token, never
        the user's other tokens); with `save`, write the URL and token to the config file
        (mode 0600) for later commands."""
        body = {"username": username, "password": password}
        body["name"] = token_name or f"downhill-cli@{socket.gethostname()}"[:100]
        anonymous = Transport(url, None, retry_delays=())
        try:
            token = anonymous.post("/auth/token/", json=body)["token"]
        finally:
            anonymous.close()
        if save:
            write_config(config or config_path(), url, token)
        return cls(url, token, config=config)

    def health(self) -> dict:
        return self._t.get("/health/")

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
