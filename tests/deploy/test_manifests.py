"""The Kubernetes manifests: every kustomization renders, every object is
valid against the Kubernetes schemas (and KEDA's for ScaledObjects), and the
invariants the deployment relies on hold in every overlay."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]
from deploy_support import (
    K8S,
    KUSTOMIZATIONS,
    REPO,
    SCHEMAS,
    WORKERS,
    Manifest,
    by_kind,
    render,
    worker_grace,
)

#: Kubernetes versions validated against: the oldest supported (native
#: `preStop.sleep` needs 1.30) and the newest the validator knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
#: Every Redis list each worker kind consumes (namespace `folio`).
PRIORITY_SUFFIXES = ("", ".critical", ".high", ".low")
WORKER_QUEUES = {
    "worker-docs": ("documents", "documents-large", "queries", "maintenance", "webhooks"),
    "worker-ocr": ("ocr",),
}


def _keda_schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (SCHEMAS / "keda-scaledobject-v1alpha1.json").read_text()
    )
    return loaded


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_object_is_valid(kustomization: str) -> None:
    keda = jsonschema.Draft202012Validator(_keda_schema())
    objects = render(kustomization)
    assert objects
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("keda.sh/"):
            errors = [e.message for e in keda.iter_errors(obj)]
            assert not errors, f"{kustomization}: {name}: {errors}"
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{kustomization}: {name} (Kubernetes {version}): {e.message}")


def test_the_keda_schema_rejects_a_broken_scaled_object() -> None:
    keda = jsonschema.Draft202012Validator(_keda_schema())
    scaled = by_kind(render("base"), "ScaledObject")["worker-ocr"]
    scaled["spec"]["maxReplicas"] = 3  # HPA's name, not KEDA's
    del scaled["spec"]["scaleTargetRef"]
    assert len(list(keda.iter_errors(scaled))) == 2


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_deployments_have_probes_resources_and_run_as_non_root(kustomization: str) -> None:
    for name, deployment in by_kind(render(kustomization), "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where
        for container in pod["containers"]:
            assert "livenessProbe" in container, name
            assert "readinessProbe" in container, name


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_worker_grace_period_covers_the_shutdown_timeout(kustomization: str) -> None:
    grace = worker_grace(render(kustomization))
    assert set(grace) == set(WORKERS)
    for name, (grace_s, shutdown_ms) in grace.items():
        # At least 10 s beyond the timeout: the hand-back and exit take time.
        assert grace_s * 1000 >= shutdown_ms + 10_000, (name, grace_s, shutdown_ms)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_scheduler_is_one_replica_never_rolled_side_by_side(kustomization: str) -> None:
    scheduler = by_kind(render(kustomization), "Deployment")["scheduler"]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    assert "scheduler" not in by_kind(render(kustomization), "HorizontalPodAutoscaler")


@pytest.mark.parametrize("kustomization", ["base", "overlays/prod"])
def test_keda_scales_each_worker_kind_on_its_own_lists(kustomization: str) -> None:
    objects = render(kustomization)
    scaled = by_kind(objects, "ScaledObject")
    configmap = by_kind(objects, "ConfigMap")["folio-config"]["data"]
    namespace = configmap["FOLIO_BROKER_NAMESPACE"]
    assert set(scaled) == set(WORKERS)
    for name, obj in scaled.items():
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
        lists = set()
        for trigger in spec["triggers"]:
            assert trigger["type"] == "redis"
            assert trigger["metadata"]["addressFromEnv"] in configmap
            lists.add(trigger["metadata"]["listName"])
        expected = {
            f"{namespace}:{q}{suffix}" for q in WORKER_QUEUES[name] for suffix in PRIORITY_SUFFIXES
        }
        assert lists == expected, name
    # Workers' replica counts are left to KEDA (or to `kubectl scale`).
    for name in WORKERS:
        assert "replicas" not in by_kind(objects, "Deployment")[name]["spec"]


def test_api_scales_on_cpu() -> None:
    for kustomization in KUSTOMIZATIONS:
        hpa = by_kind(render(kustomization), "HorizontalPodAutoscaler")["api"]
        assert hpa["spec"]["scaleTargetRef"]["name"] == "api"
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_rollable_component_has_a_disruption_budget(kustomization: str) -> None:
    budgets = by_kind(render(kustomization), "PodDisruptionBudget")
    assert {"api", *WORKERS} <= set(budgets)


def test_redis_persists_with_aof_on_a_volume() -> None:
    redis = by_kind(render("overlays/prod"), "StatefulSet")["redis"]
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"


def _ingress_allowed_from_anywhere(policy: Manifest) -> bool:
    return "Ingress" in policy["spec"]["policyTypes"] and any(
        "from" not in rule for rule in policy["spec"].get("ingress", [])
    )


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_network_policies_expose_only_the_api(kustomization: str) -> None:
    policies = by_kind(render(kustomization), "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    open_to_all = [p for p in policies.values() if _ingress_allowed_from_anywhere(p)]
    assert [p["spec"]["podSelector"] for p in open_to_all] == [
        {"matchLabels": {"app.kubernetes.io/name": "api"}}
    ]
    # Workers may only reach DNS, Redis, PostgreSQL and storage.
    worker_ports = set()
    for policy in policies.values():
        selector = json.dumps(policy["spec"]["podSelector"])
        if "Egress" in policy["spec"]["policyTypes"] and (
            policy["spec"]["podSelector"] == {} or "worker" in selector
        ):
            for rule in policy["spec"].get("egress", []):
                worker_ports |= {p["port"] for p in rule.get("ports", [])}
    assert worker_ports <= {53, 6379, 5432, 443, 9000}, worker_ports


def test_deployments_are_scraped_by_prometheus() -> None:
    for name, deployment in by_kind(render("overlays/prod"), "Deployment").items():
        if name == "scheduler":
            continue
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"


def test_no_secret_values_are_committed() -> None:
    # Production references `folio-secrets` and never defines it ...
    for kustomization in ("base", "overlays/prod"):
        assert not by_kind(render(kustomization), "Secret"), kustomization
    # ... the dev overlay's only Secret is marked dev-only and holds no
    # password in its database URL ...
    for secret in by_kind(render("overlays/dev"), "Secret").values():
        assert secret["metadata"]["annotations"]["folio.dev/dev-only"] == "true"
    # ... and no committed file outside the dev overlay declares a Secret.
    for path in Path(K8S).rglob("*.yaml"):
        if "overlays/dev" in path.as_posix():
            continue
        assert not re.search(r"^kind:\s*Secret\s*$", path.read_text(), re.MULTILINE), path


def test_the_worker_template_for_a_queue_of_kinds_is_valid_and_scales_on_its_lists() -> None:
    """k8s/templates/worker-media.yaml: a worker of users' job kinds on the
    ``media`` queue, with its KEDA ScaledObject (not part of any overlay)."""
    keda = jsonschema.Draft202012Validator(_keda_schema())
    text = (K8S / "templates" / "worker-media.yaml").read_text()
    objects: list[Manifest] = [d for d in yaml.safe_load_all(text) if d]
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("keda.sh/"):
            assert not [e.message for e in keda.iter_errors(obj)], name
            continue
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)
    deployment = by_kind(objects, "Deployment")["worker-media"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["folio", "worker", "start", "jobs", "--queues", "media"]
    scaled = by_kind(objects, "ScaledObject")["worker-media"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "worker-media"
    lists = {t["metadata"]["listName"] for t in scaled["triggers"]}
    assert lists == {f"folio:media{suffix}" for suffix in PRIORITY_SUFFIXES}


def test_the_dev_overlay_runs_the_images_kind_load_put_on_the_nodes() -> None:
    """The dev overlay names the images Compose builds (folio/<service>:dev),
    which docs/deployment.md loads with `kind load`, and never pulls them
    when a node has them (the base's `latest` tags mean `Always`)."""
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]
    built = {s["image"] for s in compose.values() if s.get("image", "").startswith("folio/")}
    guide = (REPO / "docs" / "deployment.md").read_text()
    loaded = set(re.findall(r"folio/[\w-]+:dev", _kind_load_line(guide)))
    used = set()
    for name, deployment in by_kind(render("overlays/dev"), "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            if "folio" not in container["image"]:
                continue  # MinIO, PostgreSQL
            where = f"{name}/{container['name']}"
            assert container["image"] in built, where
            assert container.get("imagePullPolicy") in {"IfNotPresent", "Never"}, where
            used.add(container["image"])
    assert used == loaded == built - {"folio/jobs:dev"}


def _kind_load_line(guide: str) -> str:
    lines = [line for line in guide.splitlines() if line.startswith("kind load docker-image")]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_prod_overlay_runs_its_pinned_tags() -> None:
    """The overlay's `images` name the base's rendered images, so its pins
    apply (they once named the base's placeholders and changed nothing:
    production ran `latest`)."""
    pins = yaml.safe_load((K8S / "overlays" / "prod" / "kustomization.yaml").read_text())["images"]
    wanted = {f"{p['name']}:{p['newTag']}" for p in pins}
    used = set()
    for deployment in by_kind(render("overlays/prod"), "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        used |= {c["image"] for c in pod["containers"] + pod.get("initContainers", [])}
    assert wanted == used
    assert not any(image.endswith(":latest") for image in used)
