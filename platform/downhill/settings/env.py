"""Reading the environment: one place for the parsing rules."""

import os
from pathlib import Path

# platform/downhill/settings/env.py -> repository root
REPO_ROOT = Path(__file__).resolve().parents[3]
VAR_DIR = Path(os.environ.get("DOWNHILL_VAR_DIR", REPO_ROOT / "var")).resolve()


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
