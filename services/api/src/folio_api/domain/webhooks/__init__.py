"""``/v1/webhooks``: a tenant's webhook endpoints and their delivery logs."""
