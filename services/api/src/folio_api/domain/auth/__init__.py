"""API-key authentication, key kinds (tenant / operator) and per-key rate limits."""
