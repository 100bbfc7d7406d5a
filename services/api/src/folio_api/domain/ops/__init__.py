"""``/v1/ops``: queues, workers, the dead-letter workbench, pauses and
stalled jobs, for operator API keys only."""
