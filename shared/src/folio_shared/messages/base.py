"""The base of every message contract: a frozen, tagged msgspec Struct.

A message type is declared once, here in the shared package, and names
everything a sender needs without importing the consumer's code::

    class ProcessDocumentV1(Message, tag="docs.process.v1"):
        actor_name = "docs.process"
        queue = Queue.DOCUMENTS

        job_id: str
        ...

Rules a message type follows (checked when :mod:`folio_shared.messages` is
imported, so a bad declaration fails at import time, not in production):

- the tag is ``<actor_name>.v<major>``, lower case, dotted, e.g.
  ``"docs.process.v1"``; the tag travels in the ``"type"`` field;
- ``actor_name`` is the Dramatiq actor's explicit, dotted name; all major
  versions of one message share it (the consumer decodes each of them);
- ``queue`` is a :class:`~folio_shared.messages.queues.Queue`;
- payloads carry ids and storage keys (strings), never file bytes;
- a field added to an existing version has a default (a minor change);
  removing or retyping a field needs a new major version (a new class and tag).
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

import msgspec

from folio_shared.messages.queues import Priority, Queue

#: Name of the JSON field that carries a message's tag.
TAG_FIELD = "type"

#: A well-formed tag: a dotted lower-case name, then ``.v<major>``.
TAG_PATTERN = re.compile(
    r"^(?P<name>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\.v(?P<major>[1-9][0-9]*)$"
)

#: An id: a UUID (or other opaque id) as text, never empty.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]

#: A key in Folio's object storage (random, never the client's filename).
StorageKey = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]

#: A MIME type as detected from the file's magic bytes, e.g. ``application/pdf``.
ContentType = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


#: Fields a re-drive may never override: who the job is, whose data it
#: reads and where.
NEVER_REDRIVEN = frozenset(
    {"job_id", "parent_job_id", "tenant_id", "document_id", "storage_key", "content_type"}
)


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field=TAG_FIELD, tag=False):
    """Base of all of Folio's message contracts (never sent itself).

    Class attributes every concrete message type sets:

    - ``actor_name``: the dotted Dramatiq actor name that consumes it
      (e.g. ``"ocr.page"``); never derived from a function name.
    - ``queue``: the :class:`Queue` it is sent to by default.
    - ``default_priority``: the :class:`Priority` used when the sender
      names none and the message carries no ``priority`` field
      (default ``Priority.NORMAL``).
    - ``redrive_options``: the fields an operator may override when
      re-running a job of this type (default none). Never a field of
      :data:`NEVER_REDRIVEN` (ids, tenant, storage key): declaring one
      fails at import time.

    Fields are keyword-only, so adding one with a default never shifts
    another. A subclass declared with ``tag=False`` is an abstract base that
    only shares fields (``MaintenanceMessage``); a concrete type always names
    its tag. Unknown fields are ignored when decoding (a newer minor
    version sent by a newer producer).
    """

    actor_name: ClassVar[str]
    queue: ClassVar[Queue]
    default_priority: ClassVar[Priority] = Priority.NORMAL
    redrive_options: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def type_tag(cls) -> str:
        """The type tag, e.g. ``"docs.process.v1"``."""
        tag = cls.__struct_config__.tag
        if not isinstance(tag, str):
            raise TypeError(f"{cls.__name__} is not a concrete message type (no string tag)")
        return tag

    @classmethod
    def major(cls) -> int:
        """The major version carried by the tag (``1`` for ``"docs.process.v1"``)."""
        return split_tag(cls.type_tag())[1]


def split_tag(tag: str) -> tuple[str, int]:
    """``"docs.process.v1"`` → ``("docs.process", 1)``.

    Raises :class:`ValueError` when ``tag`` is not of the form
    ``<dotted.name>.v<major>``.
    """
    match = TAG_PATTERN.match(tag)
    if match is None:
        raise ValueError(f"malformed message tag {tag!r}; expected '<dotted.name>.v<major>'")
    return match["name"], int(match["major"])


def check_message_type(cls: type[Message]) -> None:
    """Raise :class:`TypeError` when ``cls`` breaks the rules of a message type."""
    name = cls.__name__
    config = cls.__struct_config__
    tag = config.tag
    if not isinstance(tag, str) or config.tag_field != TAG_FIELD:
        raise TypeError(f"{name}: a message type needs an explicit string tag")
    try:
        tag_name, _major = split_tag(tag)
    except ValueError as e:
        raise TypeError(f"{name}: {e}") from e
    actor_name = getattr(cls, "actor_name", None)
    if not isinstance(actor_name, str):
        raise TypeError(f"{name}: set the class attribute actor_name")
    if tag_name != actor_name:
        raise TypeError(f"{name}: tag {tag!r} must be '{actor_name}.v<major>'")
    if not isinstance(getattr(cls, "queue", None), Queue):
        raise TypeError(f"{name}: set the class attribute queue to a Queue")
    if not isinstance(cls.default_priority, Priority):
        raise TypeError(f"{name}: default_priority must be a Priority")
    if not config.frozen:
        raise TypeError(f"{name}: message types are frozen")
    fields = {f.encode_name for f in msgspec.structs.fields(cls)}
    if unknown := sorted(cls.redrive_options - fields):
        raise TypeError(f"{name}: redrive_options names no field: {', '.join(unknown)}")
    if fixed := sorted(cls.redrive_options & NEVER_REDRIVEN):
        raise TypeError(f"{name}: redrive_options may not name {', '.join(fixed)}")
