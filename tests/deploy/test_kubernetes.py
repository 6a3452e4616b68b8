"""deploy/k8s: every overlay renders (tests/deploy/kustomize.py) to resources that the
Kubernetes schemas accept, strictly (no unknown field), and says what a platform relies on."""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.kustomize import build, containers

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
# The oldest Kubernetes still supported upstream when this was written, and the newest schema.
VERSIONS = ["1.32", kubernetes_validate.latest_version()]


def rendered(overlay: str) -> dict[tuple[str, str], dict]:
    return {(r["kind"], r["metadata"]["name"]): r for r in build(K8S / "overlays" / overlay)}


def pod_spec(resource: dict) -> dict:
    return resource["spec"]["template"]["spec"]


def test_there_are_overlays_for_gpu_and_cpu_clusters():
    assert OVERLAYS == ["cpu", "production"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_is_valid_for_the_kubernetes_schemas(overlay, version):
    resources = build(K8S / "overlays" / overlay)
    assert len(resources) >= 11
    for resource in resources:
        kubernetes_validate.validate(resource, version, strict=True)


def test_every_yaml_file_under_k8s_is_used_by_an_overlay():
    used = set()
    for overlay in OVERLAYS:
        folder = K8S / "overlays" / overlay
        for path in [folder, *(folder / p for p in _resource_dirs(folder))]:
            used |= {f.resolve() for f in path.resolve().glob("*.yaml")}
    assert {f.resolve() for f in K8S.rglob("*.yaml")} == used


def _resource_dirs(folder: Path) -> list[Path]:
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    dirs = [Path(e) for e in spec.get("resources", []) if (folder / e).is_dir()]
    return dirs + [d / sub for d in dirs for sub in _resource_dirs(folder / d)]


def test_the_schema_check_fails_on_a_misspelled_field():
    web = copy.deepcopy(rendered("production")[("Deployment", "downhill-web")])
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(web, VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_is_probed_on_the_health_endpoint_and_autoscaled(overlay):
    resources = rendered(overlay)
    web = resources[("Deployment", "downhill-web")]
    (container,) = pod_spec(web)["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/api/v1/health/"
    assert "replicas" not in web["spec"]  # the autoscaler owns it
    hpa = resources[("HorizontalPodAutoscaler", "downhill-web")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "downhill-web"
    assert container["resources"]["requests"]["cpu"]  # what CPU utilization is measured against
    ingress = resources[("Ingress", "downhill")]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "downhill-web"
    assert ("Service", "downhill-web") in resources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beat_is_exactly_one_and_never_two(overlay):
    beat = rendered(overlay)[("Deployment", "downhill-beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_gpu_workers_take_one_gpu_per_pod():
    worker = rendered("production")[("Deployment", "downhill-worker-gpu")]
    (container,) = pod_spec(worker)["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["args"] == ["worker-training"]
    assert container["image"].endswith("/worker-cuda:0.1.0")
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_non_root_from_config_and_secrets(overlay):
    for resource in rendered(overlay).values():
        if resource["kind"] not in ("Deployment", "Job"):
            continue
        security = pod_spec(resource)["securityContext"]
        assert security["runAsNonRoot"] and security["runAsUser"] == 10001
        for container in containers(resource):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
            assert sources == {"downhill-config", "downhill-secrets"}
            assert container["args"][0] in {
                "web", "migrate", "beat", "worker-datasets", "worker-training"
            }  # fmt: skip


def test_the_secret_comes_from_the_overlays_env_file_with_every_key_the_settings_need():
    secret = rendered("production")[("Secret", "downhill-secrets")]
    assert {"DOWNHILL_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(secret["stringData"])
    assert secret["metadata"]["namespace"] == "downhill"
