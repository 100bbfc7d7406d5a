"""Idempotency keys on the API's ``POST`` routes (see :mod:`.middleware`)."""
