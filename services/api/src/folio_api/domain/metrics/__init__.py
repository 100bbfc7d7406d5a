"""The API's metrics server (a port of its own, not a public route) and the
HTTP request metrics middleware."""
