"""The typed experiment spec (workers.contract.spec) is complete and self-consistent, and
imports neither Django nor torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workers.contract import spec
from workers.contract.spec.types import KINDS


def test_the_spec_imports_neither_django_nor_torch():
    code = (
        "import sys, workers.contract.spec, workers.contract.choices; "
        "print(sorted(m for m in ('django', 'torch', 'downhill') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("setting", spec.all_settings(), ids=lambda s: s.key)
def test_every_setting_is_described(setting):
    assert setting.kind in KINDS
    assert setting.label and setting.help
    top = setting.key.split(".")[0]
    assert dict((s.key, s) for s in spec.SETTINGS)[top].section in spec.SECTIONS


@pytest.mark.parametrize("setting", spec.all_settings(), ids=lambda s: s.key)
def test_every_fixed_default_is_allowed(setting):
    default = setting.default
    if isinstance(default, spec.Derived) or default is None:
        return
    if setting.kind == "choice":
        assert default in setting.choice_values()
    if setting.kind in ("number", "integer", "batch"):
        for bound, exclusive, below in (
            (setting.minimum, setting.exclusive_min, False),
            (setting.maximum, setting.exclusive_max, True),
        ):
            if bound is None or isinstance(bound, spec.Derived):
                continue
            inside = default < bound if below else default > bound
            assert inside or (not exclusive and default == bound), (setting.key, bound)


def test_conditional_settings_name_real_settings():
    keys = {s.key for s in spec.all_settings()}
    for setting in spec.all_settings():
        for key, values in setting.applicability():
            assert key in keys and values, setting.key


def test_the_config_keys_are_the_top_level_settings_in_order():
    assert spec.CONFIG_KEYS[:3] == ("dataset", "target", "task")
    assert spec.CONFIG_KEYS == tuple(s.key for s in spec.SETTINGS)
    assert len(set(spec.CONFIG_KEYS)) == len(spec.CONFIG_KEYS) == 25
