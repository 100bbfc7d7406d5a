"""Batches of jobs: ``POST /v1/batches`` and ``GET /v1/batches/{id}``."""
