"""``python -m folio_cli``: the ``folio`` command."""

from folio_cli.app import main

main()
