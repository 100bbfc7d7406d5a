#!/usr/bin/env python3
"""Write k8s/components/monitoring/prometheusrule.yaml from
docker/prometheus/alerts.yml: Kubernetes gets exactly Compose's alert groups
(tests/deploy/test_alerting.py fails while the two differ).

    .venv/bin/python scripts/sync-alert-rules.py
"""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
RULE = ROOT / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"
HEADER = """\
# Folio's alert rules for the Prometheus Operator: the groups of
# docker/prometheus/alerts.yml, written by scripts/sync-alert-rules.py
# (edit alerts.yml, then run it; a test keeps the two equal).
"""


def rule() -> dict[str, object]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "folio", "labels": {"release": "prometheus"}},
        "spec": {"groups": groups},
    }


def main() -> None:
    body = yaml.safe_dump(rule(), sort_keys=False, width=100, allow_unicode=True)
    RULE.write_text(HEADER + body)


if __name__ == "__main__":
    main()
