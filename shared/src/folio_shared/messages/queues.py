"""Queue names and priorities, and how a priority becomes a real queue on the broker.

Dramatiq's Redis broker has no message priority of its own: a queue is a
FIFO list. Folio makes priorities real by giving every logical queue one
physical sub-queue per priority:

=========  ====================  ===============
priority   physical queue        example (OCR)
=========  ====================  ===============
critical   ``<queue>.critical``  ``ocr.critical``
high       ``<queue>.high``      ``ocr.high``
normal     ``<queue>``           ``ocr``
low        ``<queue>.low``       ``ocr.low``
=========  ====================  ===============

Normal traffic uses the plain queue name, so a deployment that knows nothing
of priorities still sees its ordinary queues. Workers consume the sub-queues
of a queue in the order of :func:`physical_queue_names` (critical, high,
normal, low): a critical message waits behind other critical messages only,
never behind a backlog of normal ones.

Everything here is pure: no broker, no settings, no I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum

from folio_shared.errors import InvalidInput

#: Separator between a queue's name and its priority in a physical queue name.
PRIORITY_SEPARATOR = "."

#: A logical queue name a job kind may use: lower case, digits, ``-`` and
#: ``_``, starting with a letter, at most 48 characters (no ``.``: that
#: separates the priority).
QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")


def check_queue_name(name: str) -> str:
    """``name`` when it is a valid logical queue name (:data:`QUEUE_NAME`),
    else :class:`~folio_shared.errors.InvalidInput` saying why."""
    if not isinstance(name, str) or not QUEUE_NAME.match(name):
        raise InvalidInput(
            f"invalid queue name {name!r}: lower-case letters, digits, '-' and '_', "
            "starting with a letter, at most 48 characters",
            queue=name,
        )
    return name


class Queue(StrEnum):
    """Folio's logical queues; the value is the name on the broker.

    - ``DOCUMENTS``: extraction and finalisation of documents (worker-docs).
    - ``DOCUMENTS_LARGE``: the same work for large documents, so a few big
      files never hold up many small ones (worker-docs, own replicas).
    - ``OCR``: one message per page to OCR (worker-ocr).
    - ``QUERIES``: search-query embedding, request/reply (worker-docs).
    - ``MAINTENANCE``: periodic housekeeping sent by the scheduler (worker-docs).
    - ``WEBHOOKS``: webhook deliveries, apart so a slow receiver never
      holds up documents (worker-docs).
    """

    DOCUMENTS = "documents"
    DOCUMENTS_LARGE = "documents-large"
    OCR = "ocr"
    QUERIES = "queries"
    MAINTENANCE = "maintenance"
    WEBHOOKS = "webhooks"

    @classmethod
    def parse(cls, value: str | Queue) -> Queue:
        """The queue named ``value`` (case and surrounding blanks ignored).

        Raises :class:`~folio_shared.errors.InvalidInput` naming the known
        queues when ``value`` is none of them.
        """
        if isinstance(value, Queue):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            known = ", ".join(q.value for q in cls)
            raise InvalidInput(
                f"unknown queue {value!r}; expected one of: {known}", queue=value
            ) from None


class Priority(StrEnum):
    """How urgently a message must run: ``low``, ``normal``, ``high``, ``critical``.

    Compare priorities with :attr:`rank` (0 is the most urgent), never with
    ``<`` (that compares the strings). :meth:`in_order` lists them from the
    most urgent, the order in which workers consume the physical queues.
    """

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ``critical``, 1 for ``high``, 2 for ``normal``, 3 for ``low``."""
        return _RANKS[self]

    @classmethod
    def in_order(cls) -> tuple[Priority, ...]:
        """All priorities, most urgent first: critical, high, normal, low."""
        return _ORDER

    @classmethod
    def parse(cls, value: str | Priority) -> Priority:
        """The priority named ``value`` (case and surrounding blanks ignored).

        Raises :class:`~folio_shared.errors.InvalidInput` naming the known
        priorities when ``value`` is none of them.
        """
        if isinstance(value, Priority):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            known = ", ".join(p.value for p in _ORDER)
            raise InvalidInput(
                f"unknown priority {value!r}; expected one of: {known}", priority=value
            ) from None


_ORDER: tuple[Priority, ...] = (
    Priority.CRITICAL,
    Priority.HIGH,
    Priority.NORMAL,
    Priority.LOW,
)
_RANKS: dict[Priority, int] = {p: i for i, p in enumerate(_ORDER)}


def physical_queue_name(queue: Queue | str, priority: Priority = Priority.NORMAL) -> str:
    """The broker-level queue carrying ``queue``'s messages of ``priority``.

    ``physical_queue_name(Queue.OCR, Priority.CRITICAL) == "ocr.critical"``;
    ``physical_queue_name(Queue.OCR, Priority.NORMAL) == "ocr"``. ``queue``
    may also be a job kind's own queue name (``"media"``).
    """
    name = queue.value if isinstance(queue, Queue) else queue
    if priority is Priority.NORMAL:
        return name
    return f"{name}{PRIORITY_SEPARATOR}{priority.value}"


def physical_queue_names(queue: Queue | str) -> tuple[str, ...]:
    """Every physical queue of ``queue``, in the order workers consume them.

    ``physical_queue_names(Queue.OCR) == ("ocr.critical", "ocr.high", "ocr", "ocr.low")``.
    """
    return tuple(physical_queue_name(queue, p) for p in _ORDER)


def parse_physical_queue_name(name: str) -> tuple[Queue, Priority]:
    """The queue and priority behind a physical queue name (inverse of
    :func:`physical_queue_name`).

    A worker uses it to learn the priority a message was sent with, so that
    the work it fans out keeps that priority. Raises
    :class:`~folio_shared.errors.InvalidInput` for a name Folio never makes.
    """
    base, sep, suffix = name.rpartition(PRIORITY_SEPARATOR)
    if sep and suffix in _SUFFIXES:
        priority = Priority(suffix)
        try:
            return Queue(base), priority
        except ValueError:
            pass
    else:
        try:
            return Queue(name), Priority.NORMAL
        except ValueError:
            pass
    raise InvalidInput(f"{name!r} is not a Folio queue name", queue=name)


_SUFFIXES = frozenset(p.value for p in _ORDER if p is not Priority.NORMAL)


def logical_of(physical: str) -> tuple[str, str]:
    """``(logical, priority)`` of a physical queue name (``.DQ``/``.XQ``
    suffixes ignored); a foreign name is its own logical queue."""
    name = physical.removesuffix(".DQ").removesuffix(".XQ")
    try:
        queue, priority = parse_physical_queue_name(name)
    except InvalidInput:
        return name, "normal"
    return queue.value, priority.value
