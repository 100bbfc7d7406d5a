"""A tenant's own API keys: ``/v1/keys`` (create, list, revoke)."""
