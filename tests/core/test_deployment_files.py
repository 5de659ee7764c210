"""The files a district's IT team deploys from: the Kubernetes base validates against Kubernetes' own schemas and
runs what a city needs (probes, resources, a migrate Job, autoscaling, disruption budgets, no root); compose seeds
no demo data, gives Redis a password and puts PgBouncer in front of PostgreSQL; every platform setting these files
name is a real one; the API's pages load nothing from the internet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from backend.core.config import Settings
from tests.infra import ROOT

K8S = ROOT / "docker" / "k8s" / "base"
KUBERNETES = "1.30"  # the oldest release the manifests promise to work on
SETTINGS = {f"ELDERCARE_{name.upper()}" for name in Settings.model_fields}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((K8S / "kustomization.yaml").read_text()))


def _resources() -> list[dict[str, Any]]:
    return [doc for name in _kustomization()["resources"] for doc in _documents(K8S / name)]


@pytest.mark.unit
def test_every_kubernetes_manifest_is_valid_and_listed() -> None:
    listed = set(_kustomization()["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    kinds = []
    for doc in _resources():
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)  # raises on an unknown or mistyped field
        kinds.append((doc["kind"], doc["metadata"]["name"]))
    assert {kind for kind, _ in kinds} >= {
        "Deployment",
        "Job",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
    }
    deployments = {name for kind, name in kinds if kind == "Deployment"}
    assert deployments == {"eldercare-api", "eldercare-worker", "eldercare-scheduler"}
    # The API and the workers scale with the load; none of the three is ever drained all at once.
    for kind, wanted in (
        ("HorizontalPodAutoscaler", {"eldercare-api", "eldercare-worker"}),
        ("PodDisruptionBudget", deployments),
    ):
        assert {name for k, name in kinds if k == kind} == wanted, kind


@pytest.mark.unit
def test_every_pod_has_probes_limits_and_no_root() -> None:
    for doc in _resources():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            refs = {ref.get("configMapRef", ref.get("secretRef", {})).get("name") for ref in container["envFrom"]}
            assert refs == {"eldercare-config", "eldercare-secrets"}
            if doc["kind"] == "Deployment":
                assert "livenessProbe" in container, doc["metadata"]["name"]
    api = next(d for d in _resources() if d["metadata"]["name"] == "eldercare-api" and d["kind"] == "Deployment")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    scheduler = next(d for d in _resources() if d["metadata"]["name"] == "eldercare-scheduler")
    assert scheduler["spec"]["replicas"] >= 2  # one leads, one stands by


@pytest.mark.unit
def test_the_deployment_files_name_only_real_settings() -> None:
    named: dict[str, set[str]] = {}
    config = next(d for d in _resources() if d["kind"] == "ConfigMap")
    named["configmap.yaml"] = set(config["data"])
    secrets = (K8S / "secrets.env.example").read_text()
    named["secrets.env.example"] = set(re.findall(r"^(ELDERCARE_[A-Z0-9_]+)=", secrets, re.MULTILINE))
    for compose in (ROOT / "docker").glob("compose*.yaml"):
        named[compose.name] = set(re.findall(r"\b(ELDERCARE_[A-Z0-9_]+)\b", compose.read_text())) - {
            "ELDERCARE_IMAGE",  # compose's own variable: which image to run
            "ELDERCARE_API_PORTS",  # compose's own variable: the host ports
        }
    assert named["configmap.yaml"] and named["secrets.env.example"] and named["compose.yaml"]
    for name, variables in named.items():
        assert variables <= SETTINGS, (name, variables - SETTINGS)
    assert "CHANGE-ME" in secrets  # an example: no real secret in the repository


@pytest.mark.unit
def test_compose_seeds_no_demo_redis_has_a_password_and_pgbouncer_pools() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert "--demo" not in str(services["migrate"])
    assert "requirepass" in " ".join(services["redis"]["command"])
    env = compose["x-eldercare-env"]
    assert env["ELDERCARE_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
    assert "@pgbouncer:" in env["ELDERCARE_DATABASE_URL"] and env["ELDERCARE_DATABASE_PGBOUNCER"] == "true"
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    assert "FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    assert services["scheduler"]["deploy"]["replicas"] >= 2


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_pages_load_nothing_from_the_internet(stack, page: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        html = (await http.get(page)).raise_for_status().text
        external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
        assert external == [], external
        assets = re.findall(r"""(?:src|href)=["'](/web/static/[^"']+)""", html)
        assert len(assets) >= 2, html
        for path in assets:
            response = await http.get(path)
            assert response.status_code == 200 and len(response.content) > 500, path
