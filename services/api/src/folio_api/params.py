"""Constraints shared by request parameters and bodies."""

from __future__ import annotations

from typing import Annotated

import msgspec

#: Free text that reaches PostgreSQL, whose ``text`` cannot hold the NUL
#: character: a query or filter with one was a 500 from the database; with
#: this pattern it is a 400 ``invalid_input`` naming the field (and the
#: schema says so). Lone surrogates cannot arrive: URL decoding replaces
#: them and the JSON decoder refuses them.
NO_NUL = r"^[^\x00]*$"

#: A body field of free text (:data:`NO_NUL`).
NoNulText = Annotated[str, msgspec.Meta(pattern=NO_NUL)]
