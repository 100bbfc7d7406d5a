"""Alerts reach someone, under Compose and under Kubernetes.

- Compose: Prometheus sends to an Alertmanager whose example receiver
  prints each notification; every route matches on labels every alert has.
- Kubernetes: the optional component ``k8s/components/monitoring`` holds the
  same alert groups as a PrometheusRule, and ServiceMonitors that give the
  targets the scrape job names the rules select on.
- Every alert links to a runbook section that exists in docs/operations.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]
from deploy_support import DOCKER, K8S, REPO, SCHEMAS, Manifest, by_kind, compose_config, tool

ALERTS = DOCKER / "prometheus" / "alerts.yml"
PROMETHEUS = DOCKER / "prometheus" / "prometheus.yml"
ALERTMANAGER = DOCKER / "alertmanager" / "alertmanager.yml"
RECEIVER = DOCKER / "alertmanager" / "log_receiver.py"
COMPONENT = K8S / "components" / "monitoring"
OPERATIONS = REPO / "docs" / "operations.md"
RUNBOOK = "https://github.com/folio/folio/blob/main/docs/operations.md"
SCHEMA_FILES = {
    "ServiceMonitor": "monitoring-servicemonitor-v1.json",
    "PrometheusRule": "monitoring-prometheusrule-v1.json",
}


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown``."""
    anchors = set()
    for line in markdown.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


@pytest.fixture(scope="module")
def with_component(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """The prod overlay with the monitoring component, rendered (an overlay
    of the operator's own, as docs/operations.md shows)."""
    root = tmp_path_factory.mktemp("monitoring")
    (root / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": "folio",  # as in Folio's overlays
                "resources": [os.path.relpath(K8S / "overlays" / "prod", root)],
                "components": [os.path.relpath(COMPONENT, root)],
            }
        )
    )
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(root)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_every_alert_links_to_a_runbook_section_that_exists() -> None:
    anchors = github_anchors(OPERATIONS.read_text())
    rules = alert_rules()
    assert len(rules) >= 11
    for rule in rules:
        url = rule["annotations"].get("runbook_url", "")
        base, _, anchor = url.partition("#")
        assert base == RUNBOOK, rule["alert"]
        assert anchor == rule["alert"].lower(), rule["alert"]
        assert anchor in anchors, f"docs/operations.md has no section {rule['alert']}"


def test_the_anchor_rule_matches_github_headings() -> None:
    assert github_anchors("## The `folio` command\n### FolioRedisDown") == {
        "the-folio-command",
        "folioredisdown",
    }


def test_every_alert_carries_the_labels_alertmanager_routes_on() -> None:
    for rule in alert_rules():
        assert rule["labels"]["service"] == "folio", rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    severities = set()
    for route in routes:
        assert route["receiver"] in receivers
        for matcher in route.get("matchers", []):
            label, value = re.fullmatch(r'(\w+)="([^"]*)"', matcher).groups()  # type: ignore[union-attr]
            assert label in {"service", "severity"}, matcher
            if label == "severity":
                severities.add(value)
    # Each severity an alert has gets its own route.
    assert {r["labels"]["severity"] for r in alert_rules()} <= severities


def test_compose_sends_alerts_to_alertmanager_and_its_receiver() -> None:
    services = compose_config()["services"]
    prometheus = yaml.safe_load(PROMETHEUS.read_text())
    targets = [
        t
        for a in prometheus["alerting"]["alertmanagers"]
        for s in a["static_configs"]
        for t in s["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    mounts = {v["target"]: v["source"] for v in services["alertmanager"]["volumes"]}
    assert Path(mounts["/etc/alertmanager/alertmanager.yml"]) == ALERTMANAGER
    config = yaml.safe_load(ALERTMANAGER.read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            url = urlsplit(hook["url"])
            assert url.hostname in services, hook["url"]
            command = services[url.hostname]["command"]
            assert command[-1] == str(url.port)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_example_receiver_prints_each_alert() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(RECEIVER), str(port), "127.0.0.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        rule = alert_rules()[0]
        notes = {"summary": "no worker", "runbook_url": rule["annotations"]["runbook_url"]}
        labels = rule["labels"] | {"alertname": rule["alert"]}
        payload = {
            "status": "firing",
            "alerts": [{"status": "firing", "labels": labels, "annotations": notes}],
        }
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/", json=payload, timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the receiver never listened"
                time.sleep(0.1)
        assert answer.status_code == 200
        assert httpx.post(f"http://127.0.0.1:{port}/", content=b"{", timeout=5).status_code == 400
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.splitlines() == [
        f"FIRING {rule['alert']} severity={rule['labels']['severity']}: no worker"
        f" runbook: {rule['annotations']['runbook_url']}"
    ]


def test_the_prometheus_rule_holds_the_compose_alert_groups(with_component: list[Manifest]) -> None:
    rule = by_kind(with_component, "PrometheusRule")["folio"]
    assert rule["metadata"]["namespace"] == "folio"
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"], (
        "run scripts/sync-alert-rules.py"
    )


def test_the_prometheus_rule_passes_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (apt-get install prometheus)", pytrace=False)
    committed = yaml.safe_load((COMPONENT / "prometheusrule.yaml").read_text())
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": committed["spec"]["groups"]}))
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in out.stdout


def test_the_monitoring_component_is_valid(with_component: list[Manifest]) -> None:
    validators = {
        kind: jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()))
        for kind, name in SCHEMA_FILES.items()
    }
    component = [
        d for d in yaml.safe_load_all((COMPONENT / "metrics-services.yaml").read_text()) if d
    ]
    for obj in component + [o for o in with_component if o["kind"] in validators]:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in validators:
            errors = [e.message for e in validators[obj["kind"]].iter_errors(obj)]
            assert not errors, f"{name}: {errors}"
        else:
            kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
    assert set(by_kind(with_component, "ServiceMonitor")) == {"folio-api", "folio-workers"}


def test_the_schemas_refuse_a_broken_monitor_and_rule() -> None:
    monitor = jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / SCHEMA_FILES["ServiceMonitor"]).read_text())
    )
    rule = jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / SCHEMA_FILES["PrometheusRule"]).read_text())
    )
    head = {"apiVersion": "monitoring.coreos.com/v1", "metadata": {"name": "x"}}
    broken_monitor = head | {
        "kind": "ServiceMonitor",
        "spec": {"endpoint": [{"port": "metrics"}]},
    }
    broken_rule = head | {
        "kind": "PrometheusRule",
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "for": "5 min"}]}]},
    }
    assert len(list(monitor.iter_errors(broken_monitor))) >= 2  # no selector; `endpoint`
    assert len(list(rule.iter_errors(broken_rule))) >= 2  # no expr; a bad duration


def test_kubernetes_targets_get_the_job_names_the_rules_select(
    with_component: list[Manifest],
) -> None:
    """Under both, ``job`` is folio-api or folio-workers: Compose names its
    scrape jobs so, and each ServiceMonitor's ``jobLabel`` reads it from
    Services that select the metrics port of the Deployments' pods."""
    selected = {m for r in alert_rules() for m in re.findall(r'job="([^"]+)"', r["expr"])}
    assert selected
    compose_jobs = {j["job_name"] for j in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    assert selected <= compose_jobs
    services = by_kind(with_component, "Service")
    deployments = by_kind(with_component, "Deployment")
    k8s_jobs: dict[str, set[str]] = {}
    for name, monitor in by_kind(with_component, "ServiceMonitor").items():
        spec = monitor["spec"]
        wanted = spec["selector"]["matchLabels"]
        matched = [
            s for s in services.values() if wanted.items() <= s["metadata"]["labels"].items()
        ]
        assert matched, name
        for service in matched:
            job = service["metadata"]["labels"][spec["jobLabel"]]
            port = {p["name"]: p for p in service["spec"]["ports"]}[spec["endpoints"][0]["port"]]
            pods = [
                d
                for d in deployments.values()
                if service["spec"]["selector"].items()
                <= d["spec"]["template"]["metadata"]["labels"].items()
            ]
            assert pods, service["metadata"]["name"]
            for deployment in pods:
                ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
                assert {"name": port["targetPort"], "containerPort": 9191} in ports
                k8s_jobs.setdefault(job, set()).add(deployment["metadata"]["name"])
    assert selected <= set(k8s_jobs)
    assert k8s_jobs == {
        "folio-api": {"api"},
        "folio-workers": {"worker-docs", "worker-ocr"},
    }
