"""Extractor plugins: the ``folio.extractors`` entry-point group.

A package adds a document type by declaring, in its ``pyproject.toml``::

    [project.entry-points."folio.extractors"]
    payslip = "my_package.payslip:PayslipExtractor"

The object named is a class (instantiated without arguments) or an instance
with the :class:`~folio_worker_docs.extraction.types.Extractor` attributes.
Folio's own extractors register the same way (see worker-docs' pyproject).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from folio_shared.errors import FolioError
from folio_worker_docs.extraction.types import Extractor

#: The entry-point group extractors register under.
GROUP = "folio.extractors"


class InvalidExtractor(FolioError):
    """An entry point of ``folio.extractors`` does not provide an extractor."""

    code = "invalid_extractor"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"extractor plugin {name!r}: {reason}", extractor=name)


def load(name: str, target: object) -> Extractor:
    """The extractor an entry point names (a class is instantiated)."""
    extractor = target() if isinstance(target, type) else target
    if not isinstance(extractor, Extractor):
        raise InvalidExtractor(name, "needs document_type, version, score() and extract()")
    if extractor.document_type == "other":
        raise InvalidExtractor(name, "'other' is the type of documents no extractor claims")
    return extractor


@cache
def installed() -> tuple[Extractor, ...]:
    """Every registered extractor, sorted by document type (loaded once per process)."""
    found = [load(ep.name, ep.load()) for ep in entry_points(group=GROUP)]
    return tuple(sorted(found, key=lambda e: e.document_type))
