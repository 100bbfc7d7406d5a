"""Commands for people, through a deployment's HTTP API with the Python
client and a tenant API key: ``folio login``, ``folio upload``,
``folio documents``, ``folio search``."""
