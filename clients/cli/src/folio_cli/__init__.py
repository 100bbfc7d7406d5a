"""``folio``: the command line of a Folio deployment (``folio --help``)."""
