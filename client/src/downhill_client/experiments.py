"""Experiments: created from a dict, or a JSON or YAML file."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .errors import BadInput
from .models import Experiment
from .transport import Transport


def load_config(path: str | Path) -> dict:
    """An experiment config from a .json, .yaml or .yml file, as a dict."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    try:
        config = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path} is not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(config, dict):
        raise BadInput(
            f"{path} must hold a mapping of settings (key: value), not {type(config).__name__}."
        )
    return config


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's message in one line: the problem and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


class Experiments:
    def __init__(self, transport: Transport):
        self._t = transport

    def create(self, config: dict | str | Path, **overrides) -> Experiment:
        """Validated by the server: a 400 raises ApiError whose `errors` name each field."""
        body = dict(config) if isinstance(config, dict) else load_config(config)
        body.update({k: v for k, v in overrides.items() if v is not None})
        return Experiment.from_api(self._t.post("/experiments/", json=body))

    def list(self) -> list[Experiment]:
        return [Experiment.from_api(e) for e in self._t.all_pages("/experiments/")]

    def get(self, experiment_id: int) -> Experiment:
        return Experiment.from_api(self._t.get(f"/experiments/{experiment_id}/"))
