"""What `kubectl kustomize` makes of deploy/k8s, for the features those kustomizations use.

No kustomize binary comes from PyPI, so the tests render the overlays with this and check
the result against the Kubernetes schemas. It refuses any kustomization field it does not
implement, so a new feature in deploy/k8s fails here until it is rendered too.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

SUPPORTED = {
    "apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
    "secretGenerator", "patches",
}  # fmt: skip
# Strategic-merge keys of the lists these manifests patch.
MERGE_KEYS = {"containers": "name", "env": "name", "volumes": "name", "volumeMounts": "name"}
CLUSTER_SCOPED = {"Namespace"}


def build(folder: Path, *, secrets_env: str = "secrets.env.example") -> list[dict]:
    """The resources of the kustomization in `folder`, as `kubectl kustomize` would print them
    (generated names keep no hash suffix). A secretGenerator's file falls back to its example."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise ValueError(f"{folder}: kustomization fields not rendered by tests: {sorted(unknown)}")
    resources: list[dict] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        if path.is_dir():
            resources += build(path, secrets_env=secrets_env)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    resources += [_secret(folder, gen, secrets_env) for gen in spec.get("secretGenerator", [])]
    for patch in spec.get("patches", []):
        _apply_patch(resources, yaml.safe_load((folder / patch["path"]).read_text()))
    for resource in resources:
        _apply(spec, resource)
    return resources


def _secret(folder: Path, generator: dict, fallback: str) -> dict:
    data: dict[str, str] = {}
    for name in generator["envs"]:
        path = folder / name if (folder / name).exists() else folder / fallback
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition("=")
                data[key] = value
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": generator["name"]}, "stringData": data}  # fmt: skip


def _apply_patch(resources: list[dict], patch: dict) -> None:
    for resource in resources:
        if (resource["kind"], resource["metadata"]["name"]) == (
            patch["kind"],
            patch["metadata"]["name"],
        ):
            merged = merge(resource, patch)
            resource.clear()
            resource.update(merged)
            return
    raise ValueError(f"patch for {patch['kind']}/{patch['metadata']['name']} matches nothing")


def merge(base, patch, key: str | None = None):
    """A strategic merge patch: maps merged key by key, lists of named things by name,
    other lists replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for name, value in patch.items():
            out[name] = merge(base[name], value, name) if name in base else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        by_name = {item[MERGE_KEYS[key]]: item for item in base}
        for item in patch:
            name = item[MERGE_KEYS[key]]
            by_name[name] = merge(by_name[name], item, None) if name in by_name else item
        return list(by_name.values())
    return copy.deepcopy(patch)


def _apply(spec: dict, resource: dict) -> None:
    meta = resource.setdefault("metadata", {})
    if "namespace" in spec and resource["kind"] not in CLUSTER_SCOPED:
        meta["namespace"] = spec["namespace"]
    if resource["kind"] == "Namespace" and "namespace" in spec:
        meta["name"] = spec["namespace"]
    for label in spec.get("labels", []):
        meta.setdefault("labels", {}).update(label["pairs"])
    for replicas in spec.get("replicas", []):
        if meta["name"] == replicas["name"] and "replicas" in resource.get("spec", {}):
            resource["spec"]["replicas"] = replicas["count"]
    for container in containers(resource):
        for image in spec.get("images", []):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                name = image.get("newName", name)
                tag = image.get("newTag", tag)
                container["image"] = f"{name}:{tag}" if tag else name


def containers(resource: dict) -> list[dict]:
    """The containers of a Deployment's or a Job's pods."""
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    return pod.get("containers", []) + pod.get("initContainers", [])
