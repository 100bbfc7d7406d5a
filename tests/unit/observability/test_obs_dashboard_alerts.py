"""The Grafana dashboard and the Prometheus alert rules only name metrics
Folio really exports, and the rules pass ``promtool check rules``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from folio_shared.messages import Queue
from folio_shared.metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "folio.json"
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"

#: Series Prometheus and the client library add on their own.
EXTERNAL = {"up", "process_cpu_seconds_total", "process_resident_memory_bytes"}
_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
_WORDS |= {"unless", "offset", "le", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = m.group(0)
        rest = text[m.end() :].lstrip()
        if rest.startswith("(") or word.lower() in _WORDS:
            continue  # a function or a keyword
        names.add(word)
    return names


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def alert_exprs() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [str(r["expr"]) for g in groups for r in g["rules"]]


def test_the_parser_finds_metric_names_and_nothing_else() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, actor) (rate(folio_job_duration_seconds_bucket"
        '{queue="ocr"}[5m]))) / max(folio_redis_up) > 0'
    )
    assert metric_names(expr) == {"folio_job_duration_seconds_bucket", "folio_redis_up"}


def test_every_dashboard_query_names_metrics_folio_exports() -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    used = set().union(*(metric_names(e) for e in exprs))
    assert used - METRIC_NAMES - EXTERNAL == set()
    # The dashboard covers queues, throughput, latencies, failures, OCR,
    # embeddings and the API.
    for name in (
        "folio_queue_messages",
        "folio_jobs_total",
        "folio_job_duration_seconds_bucket",
        "folio_dead_letters_total",
        "folio_ocr_pages_total",
        "folio_ocr_page_confidence_sum",
        "folio_embedding_batch_size_sum",
        "folio_http_requests_total",
        "folio_http_request_duration_seconds_bucket",
        "folio_workers_alive",
    ):
        assert name in used


def test_dashboard_panels_have_unique_ids_and_a_prometheus_datasource() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for p in panels:
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert p["targets"]


def test_every_alert_names_metrics_folio_exports() -> None:
    used = set().union(*(metric_names(e) for e in alert_exprs()))
    assert used - METRIC_NAMES - EXTERNAL == set()
    names = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert {
        "FolioNoLiveWorker",
        "FolioQueueBacklog",
        "FolioDeadLettersGrowing",
        "FolioRedisDown",
        "FolioPostgresDown",
        "FolioJobFailureRate",
        "FolioStalledJobs",
        "FolioOutboxBacklog",
    } <= names


def test_alert_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (apt-get install prometheus)", pytrace=False)
    out = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_the_no_live_worker_alert_watches_every_queue_of_folio() -> None:
    rules = [
        rule
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "FolioNoLiveWorker"
    ]
    match = re.search(r'queue=~"([^"]+)"', rules[0]["expr"])
    assert match is not None
    assert set(match.group(1).split("|")) == {q.value for q in Queue}
