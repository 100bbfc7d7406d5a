"""The compose file: Docker Compose itself accepts it (no engine needed for
`config`), and it holds the whole stack with a persistent Redis."""

from __future__ import annotations

from typing import Any

from deploy_support import DOCKER, compose_config

STACK = {
    "redis", "postgres", "minio", "migrate", "api", "worker-docs", "worker-ocr",
    "scheduler", "prometheus", "grafana", "alertmanager", "alert-receiver",
}  # fmt: skip


def _config() -> dict[str, Any]:
    return compose_config()


def test_compose_config_is_valid_and_holds_the_stack() -> None:
    services = _config()["services"]
    assert set(services) == STACK


def test_redis_keeps_queues_with_aof_on_a_volume() -> None:
    redis = _config()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert [v["target"] for v in redis["volumes"]] == ["/data"]


def test_images_are_built_from_the_repository_root() -> None:
    services = _config()["services"]
    for name in ("migrate", "worker-docs", "worker-ocr", "scheduler"):
        build = services[name]["build"]
        assert build["context"] == str(DOCKER.parent), name
        assert build["dockerfile"].startswith("docker/"), name


def test_workers_get_longer_than_their_shutdown_timeout_to_stop() -> None:
    services = _config()["services"]
    for name in ("worker-docs", "worker-ocr"):
        # Compose reports durations in nanoseconds-free strings like "1m30s".
        assert services[name]["stop_grace_period"] == "1m30s", name


def test_grafana_gets_its_datasource_and_dashboard() -> None:
    grafana = _config()["services"]["grafana"]
    targets = {v["target"] for v in grafana["volumes"]}
    assert {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"} <= targets
    assert (DOCKER / "grafana" / "dashboards" / "folio.json").is_file()
    assert (DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").is_file()


def test_presigned_urls_name_the_s3_endpoint_the_host_reaches() -> None:
    """Services reach MinIO as `minio:9000`, which the host cannot resolve:
    URLs are signed for the port MinIO publishes on the host's loopback."""
    services = _config()["services"]
    published = {
        (p["host_ip"], int(p["published"]))
        for p in services["minio"]["ports"]
        if p["target"] == 9000
    }
    assert published == {("127.0.0.1", 9000)}
    for name in ("api", "worker-docs", "worker-ocr"):
        env = services[name]["environment"]
        assert env["FOLIO_S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["FOLIO_S3_PUBLIC_ENDPOINT_URL"] == "http://localhost:9000", name
