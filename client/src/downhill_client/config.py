"""Where the URL and token come from: arguments, then DOWNHILL_URL / DOWNHILL_TOKEN, then the
config file `downhill login` writes (JSON, mode 0600)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

SETTINGS = ("url", "token")


def config_path() -> Path:
    """$DOWNHILL_CONFIG, else $XDG_CONFIG_HOME/downhill/config.json (~/.config by default)."""
    if os.environ.get("DOWNHILL_CONFIG"):
        return Path(os.environ["DOWNHILL_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "downhill" / "config.json"


def read_config(path: Path) -> dict[str, str]:
    """The file's settings ({} when there is no file); ConfigError naming the problem."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the config file {path} must hold a JSON object.")
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            f"the config file {path} has an unknown setting {unknown[0]!r} "
            f"(known: {', '.join(SETTINGS)})."
        )
    return {key: str(value) for key, value in data.items()}


def write_config(path: Path, url: str, token: str) -> None:
    """Write the settings readable by this user only (0600, also when the file existed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": url, "token": token}, f, indent=2)
        f.write("\n")


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None


def resolve(url: str | None = None, token: str | None = None, path: Path | None = None) -> Settings:
    """Arguments win over the environment, which wins over the file."""
    stored = read_config(path or config_path())
    url = url or os.environ.get("DOWNHILL_URL") or stored.get("url")
    token = token or os.environ.get("DOWNHILL_TOKEN") or stored.get("token")
    if not url:
        raise ConfigError("no server URL: run `downhill login`, set DOWNHILL_URL or pass the URL.")
    return Settings(url=url, token=token)
