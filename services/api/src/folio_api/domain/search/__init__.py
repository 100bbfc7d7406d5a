"""``/v1/search``: search the tenant's documents by meaning and by words."""
