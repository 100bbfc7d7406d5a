"""``/v1/jobs``: follow, list, cancel and retry jobs; live events over SSE."""
