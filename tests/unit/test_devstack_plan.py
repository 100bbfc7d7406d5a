"""The dev stack's plan: every service that serves metrics gets a port of
its own (on one host, worker-docs and worker-ocr both took 9191, and the
second served none)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from folio_devstack.dev import SERVICES, DevPlan, banner
from folio_devstack.logmux import LogMux
from folio_shared.settings import FolioSettings, MetricsSettings


def _ports(plan: DevPlan) -> dict[str, str | None]:
    env = plan.environment()
    return {
        name: plan.service_environment(env, name).get("FOLIO_METRICS_PORT") for name, _ in SERVICES
    }


def test_each_worker_serves_metrics_on_its_own_port(tmp_path: Path) -> None:
    plan = DevPlan.from_settings(FolioSettings(env="dev", home=tmp_path))
    ports = _ports(plan)
    assert ports["worker-docs"] == "9191"
    assert ports["worker-ocr"] == "9192"
    served = [p for p in ports.values() if p is not None]
    assert len(served) == len(set(served))


def test_the_metrics_base_port_is_the_setting_and_zero_turns_them_off(tmp_path: Path) -> None:
    moved = DevPlan.from_settings(
        FolioSettings(env="dev", home=tmp_path, metrics=MetricsSettings(port=9300))
    )
    assert _ports(moved)["worker-ocr"] == "9301"
    off = DevPlan.from_settings(
        FolioSettings(env="dev", home=tmp_path, metrics=MetricsSettings(port=0))
    )
    assert set(_ports(off).values()) <= {None, "0"}


def test_the_dev_stack_signs_with_a_random_secret_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOLIO_STORAGE_SIGNING_SECRET", raising=False)
    plan = DevPlan.from_settings(FolioSettings(env="dev", home=tmp_path))
    secret = plan.environment()["FOLIO_STORAGE_SIGNING_SECRET"]
    assert secret != FolioSettings().storage.signing_secret.get_secret_value()
    assert len(bytes.fromhex(secret)) == 32
    kept = tmp_path / "signing-secret"
    assert kept.stat().st_mode & 0o777 == 0o600
    # the next run keeps it (URLs signed before a restart still work)
    again = DevPlan.from_settings(FolioSettings(env="dev", home=tmp_path))
    assert again.environment()["FOLIO_STORAGE_SIGNING_SECRET"] == secret
    # and an exported secret wins
    monkeypatch.setenv("FOLIO_STORAGE_SIGNING_SECRET", "exported-secret-0123456789")
    assert plan.environment()["FOLIO_STORAGE_SIGNING_SECRET"] == "exported-secret-0123456789"


def test_the_banner_names_the_dashboard_and_the_key(tmp_path: Path) -> None:
    out = io.StringIO()
    plan = local_plan(tmp_path, api_port=8000)
    banner(LogMux(out, colour=False), plan, "folio_demo_key", [])
    text = out.getvalue()
    assert "http://127.0.0.1:8000/ui" in text
    assert "folio_demo_key" in text


def test_presigned_urls_point_at_the_stack_s_api_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOLIO_STORAGE_PUBLIC_BASE_URL", raising=False)
    plan = local_plan(tmp_path, api_port=18600)
    assert plan.environment()["FOLIO_STORAGE_PUBLIC_BASE_URL"] == "http://127.0.0.1:18600"
    monkeypatch.setenv("FOLIO_STORAGE_PUBLIC_BASE_URL", "https://folio.example")
    assert plan.environment()["FOLIO_STORAGE_PUBLIC_BASE_URL"] == "https://folio.example"


def local_plan(home: Path, *, api_port: int) -> DevPlan:
    """A plan on the default Redis and PostgreSQL ports, its API on ``api_port``."""
    return DevPlan(
        home=home,
        redis_port=6380,
        pg_port=5433,
        dbname="folio",
        api_host="127.0.0.1",
        api_port=api_port,
    )
