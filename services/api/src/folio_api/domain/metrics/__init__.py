"""``GET /metrics`` (Prometheus exposition) and the HTTP request metrics
middleware."""
