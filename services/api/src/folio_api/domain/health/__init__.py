"""Liveness and readiness probes (``/healthz``, ``/readyz``)."""
