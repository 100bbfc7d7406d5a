"""Declaring a job kind: a dotted name, a versioned payload, a function.

::

    class AnalyzeAudio(msgspec.Struct):
        key: str
        window_ms: int = 1000

    @job("audio.analyze", queue="media", payload=AnalyzeAudio, result=AudioReport,
         max_retries=3, time_limit_ms=600_000, rate_limit="120/m", concurrency=4)
    async def analyze(ctx: JobContext, p: AnalyzeAudio) -> AudioReport: ...

:func:`job` records a :class:`Kind` in this process's registry and returns
it; nothing touches a broker or a database at import time. A worker binds
every declared kind to its broker when it starts
(:func:`folio_shared.kinds.actors.bind`), and records them in PostgreSQL.

Payloads follow the rules of Folio's own messages (``docs/messages.md``):
on the wire a payload is a JSON object tagged ``"type": "<kind>.v<major>"``;
fields unknown to the worker are ignored (a newer minor version); a field
added to a version needs a default; anything else is a new major version,
declared as a new payload type (``version=2``), with the old type listed in
``also`` until its jobs have drained. A payload whose major version the
worker does not know is dead-lettered with that reason; one that does not
match its type (a missing or ill-typed field) too, naming the field.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from folio_shared.errors import (
    ConfigurationError,
    InvalidMessage,
    UnknownMessageType,
    UnsupportedMessageVersion,
)
from folio_shared.jobs.family import WAITING
from folio_shared.jobs.limits import InvalidLimit, parse_rate
from folio_shared.jobs.outbox import kind_envelope
from folio_shared.messages import TAG_FIELD, Priority, check_queue_name, split_tag

#: A kind's name: dotted, lower case, at least two parts (``audio.analyze``).
KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class KindOptions:
    """What a kind declares beyond its types; ``None``: the worker's default.

    - ``max_retries``: retries after the first attempt (default: the job
      row's, 3);
    - ``min_backoff_ms`` / ``max_backoff_ms``: exponential backoff bounds;
    - ``time_limit_ms``: per attempt (default ``FOLIO_JOBS_DOCUMENT_TIME_LIMIT_MS``);
    - ``rate_limit``: most starts in any window across all workers, ``"120/m"``
      (``N/s``, ``N/m``, ``N/h``, or ``N/10s``: see :mod:`folio_shared.jobs.limits`);
    - ``concurrency``: most jobs of the kind running at once across all workers;
    - ``priority``: the priority a job gets when its sender names none.

    ``rate_limit`` and ``concurrency`` are Dramatiq actor options of the
    same names; the broker's limits middleware enforces them.
    """

    max_retries: int | None = None
    min_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    time_limit_ms: int | None = None
    rate_limit: str | None = None
    concurrency: int | None = None
    priority: Priority = Priority.NORMAL

    def check(self, name: str) -> None:
        """Raise :class:`ConfigurationError` for an option out of range."""
        for option in ("max_retries", "min_backoff_ms", "max_backoff_ms", "time_limit_ms"):
            value = getattr(self, option)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigurationError(f"kind {name}: {option} must be an int >= 0", kind=name)
        if self.rate_limit is not None:
            try:
                parse_rate(self.rate_limit)
            except InvalidLimit as e:
                raise ConfigurationError(f"kind {name}: {e}", kind=name) from e
        if self.concurrency is not None and (
            not isinstance(self.concurrency, int) or self.concurrency < 1
        ):
            raise ConfigurationError(f"kind {name}: concurrency must be an int >= 1", kind=name)

    def as_json(self) -> dict[str, Any]:
        """The options set, as stored in ``job_kinds.options``."""
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        data["priority"] = self.priority.value
        return data


@dataclass(frozen=True)
class Kind:
    """A declared job kind (see the module doc). Call it like its function
    in a test: ``await analyze(ctx, payload)``."""

    name: str
    fn: Callable[..., Any]
    queue: str
    payload: type[msgspec.Struct]
    version: int
    result: type[Any] | None = None
    options: KindOptions = field(default_factory=KindOptions)
    #: Older (or newer) payload types still decoded, by major version.
    also: Mapping[int, type[msgspec.Struct]] = field(default_factory=dict)
    throws: tuple[type[BaseException], ...] = ()
    description: str | None = None

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    @property
    def tag(self) -> str:
        """The payload tag this kind sends: ``<name>.v<version>``."""
        return f"{self.name}.v{self.version}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    # -- payloads ------------------------------------------------------------

    def versions(self) -> dict[int, type[msgspec.Struct]]:
        """Every major version this worker decodes, with its payload type."""
        return {**self.also, self.version: self.payload}

    def decode(self, data: Any) -> msgspec.Struct:
        """The payload in ``data`` (a tagged JSON object) as its type.

        Raises :class:`UnsupportedMessageVersion` for a major version this
        worker does not know and :class:`InvalidMessage` (naming the field)
        for a payload that does not match its type: the job engine
        dead-letters both at once with that reason.
        """
        if not isinstance(data, Mapping):
            raise InvalidMessage(
                f"a {self.name} payload must be a JSON object, not {type(data).__name__}",
                kind=self.name,
            )
        tag = data.get(TAG_FIELD)
        if not isinstance(tag, str):
            raise InvalidMessage(f"a {self.name} payload has no type tag", kind=self.name)
        try:
            name, major = split_tag(tag)
        except ValueError as e:
            raise InvalidMessage(str(e), kind=self.name, tag=tag) from e
        if name != self.name:
            raise UnknownMessageType(
                f"a {tag} payload was sent to the {self.name} kind", kind=self.name, tag=tag
            )
        versions = self.versions()
        cls = versions.get(major)
        if cls is None:
            known = ", ".join(f"v{v}" for v in sorted(versions))
            raise UnsupportedMessageVersion(
                f"{self.name} payload version v{major} is not known to this worker"
                f" (it knows {known})",
                kind=self.name,
                tag=tag,
            )
        body = dict(data) if _tagged(cls) else {k: v for k, v in data.items() if k != TAG_FIELD}
        try:
            return msgspec.convert(body, cls)
        except msgspec.ValidationError as e:
            raise InvalidMessage(f"invalid {tag} payload: {e}", kind=self.name, tag=tag) from e

    def encode(self, payload: msgspec.Struct) -> dict[str, Any]:
        """``payload`` as the JSON object a job of this kind carries (untagged)."""
        if not isinstance(payload, tuple(self.versions().values())):
            raise TypeError(f"{self.name} takes a {self.payload.__name__} payload")
        data: dict[str, Any] = _json_value(payload)
        data.pop(TAG_FIELD, None)
        return data

    def envelope(
        self, payload: msgspec.Struct | Mapping[str, Any], *, priority: Priority | None = None
    ) -> dict[str, Any]:
        """The outbox envelope of a job of this kind (for
        :func:`~folio_shared.jobs.outbox.enqueue_envelope`)."""
        data = self.encode(payload) if isinstance(payload, msgspec.Struct) else dict(payload)
        return kind_envelope(
            self.name,
            self.version,
            self.queue,
            data,
            priority=priority or self.options.priority,
        )

    def encode_result(self, value: Any) -> Any:
        """What the job row keeps of the function's return value: a JSON
        object (a result Struct's fields; another value under ``"value"``)."""
        if value is None or value is WAITING:
            return value
        if self.result is not None and not isinstance(value, self.result):
            raise TypeError(
                f"kind {self.name} returned {type(value).__name__}, not {self.result.__name__}"
            )
        data = _json_value(value)
        return data if isinstance(data, dict) else {"value": data}

    # -- schemas ---------------------------------------------------------------

    def payload_schema(self) -> dict[str, Any]:
        """JSON schema of the current payload version, without the tag (the
        sender never writes it: the engine adds it)."""
        return _untagged_schema(self.payload)

    def result_schema(self) -> dict[str, Any] | None:
        return _untagged_schema(self.result) if self.result is not None else None


def _json_value(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists, ...)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _tagged(cls: type[msgspec.Struct]) -> bool:
    return cls.__struct_config__.tag is not None


def _untagged_schema(cls: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(cls)
    for definition in schema.get("$defs", {}).values():
        props = definition.get("properties", {})
        if TAG_FIELD in props and "enum" in props[TAG_FIELD]:
            del props[TAG_FIELD]
            definition["required"] = [r for r in definition.get("required", []) if r != TAG_FIELD]
            if not definition["required"]:
                del definition["required"]
    return schema


def _version_of(name: str, cls: type[msgspec.Struct], version: int | None) -> int:
    """The major version of ``cls``: ``version``, else its tag's, else 1."""
    tag = cls.__struct_config__.tag
    if isinstance(tag, str):
        try:
            tag_name, major = split_tag(tag)
        except ValueError as e:
            raise ConfigurationError(f"kind {name}: payload {cls.__name__}: {e}") from e
        if tag_name != name or (version is not None and version != major):
            raise ConfigurationError(
                f"kind {name}: payload {cls.__name__} is tagged {tag!r},"
                f" expected '{name}.v{version or major}'",
                kind=name,
            )
        if cls.__struct_config__.tag_field != TAG_FIELD:
            raise ConfigurationError(f"kind {name}: a payload's tag field is {TAG_FIELD!r}")
        return major
    if version is not None and (not isinstance(version, int) or version < 1):
        raise ConfigurationError(f"kind {name}: version must be an int >= 1", kind=name)
    return version or 1


_REGISTRY: dict[str, Kind] = {}


def declared() -> dict[str, Kind]:
    """Every kind declared in this process, by name."""
    return dict(_REGISTRY)


def kind_of(payload: msgspec.Struct) -> Kind:
    """The declared kind taking ``payload`` (of its current or an older version)."""
    for kind in _REGISTRY.values():
        if isinstance(payload, tuple(kind.versions().values())):
            return kind
    raise ConfigurationError(f"no declared kind takes a {type(payload).__name__} payload")


def register(kind: Kind) -> Kind:
    """Add ``kind`` to the registry; a second declaration of its name by
    another function is an error (one name, one meaning on the wire)."""
    seen = _REGISTRY.get(kind.name)
    if seen is not None and _qualname(seen.fn) != _qualname(kind.fn):
        raise ConfigurationError(
            f"kind {kind.name} is declared twice: {_qualname(seen.fn)} and {_qualname(kind.fn)}",
            kind=kind.name,
        )
    _REGISTRY[kind.name] = kind
    return kind


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def job(
    name: str,
    *,
    queue: str,
    payload: type[msgspec.Struct],
    result: type[Any] | None = None,
    version: int | None = None,
    also: tuple[type[msgspec.Struct], ...] = (),
    max_retries: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    time_limit_ms: int | None = None,
    rate_limit: str | None = None,
    concurrency: int | None = None,
    priority: Priority | str = Priority.NORMAL,
    throws: tuple[type[BaseException], ...] = (),
) -> Callable[[Callable[..., Any]], Kind]:
    """Declare the decorated function as the job kind ``name``.

    The function takes ``(ctx, payload)``: a :class:`~folio_shared.kinds.JobContext`
    (``async def``) or :class:`~folio_shared.kinds.SyncJobContext` (plain
    ``def``, run in a worker thread) and the decoded payload. Its return
    value (``result`` type, when declared) becomes the job's result.

    - ``queue``: logical queue (lower case, digits, ``-``, ``_``), with
      Folio's four priority sub-queues;
    - ``payload``: a msgspec Struct; its major ``version`` comes from the
      argument, else from the Struct's tag (``tag="audio.analyze.v2"``),
      else 1; ``also``: other versions still decoded (tagged Structs);
    - ``throws``: exceptions that fail the job at once (no retry), like a
      non-retryable :class:`~folio_shared.errors.FolioError`;
    - every other option: see :class:`KindOptions`.

    A bad declaration raises :class:`ConfigurationError` at import time.
    """
    if not isinstance(name, str) or not KIND_NAME.match(name):
        raise ConfigurationError(
            f"invalid kind name {name!r}: dotted lower-case words, e.g. 'audio.analyze'"
        )
    check_queue_name(queue)
    if not (isinstance(payload, type) and issubclass(payload, msgspec.Struct)):
        raise ConfigurationError(f"kind {name}: payload must be a msgspec Struct type")
    options = KindOptions(
        max_retries=max_retries,
        min_backoff_ms=min_backoff_ms,
        max_backoff_ms=max_backoff_ms,
        time_limit_ms=time_limit_ms,
        rate_limit=rate_limit,
        concurrency=concurrency,
        priority=Priority.parse(priority),
    )
    options.check(name)
    major = _version_of(name, payload, version)
    older: dict[int, type[msgspec.Struct]] = {}
    for cls in also:
        if not isinstance(cls.__struct_config__.tag, str):
            raise ConfigurationError(f"kind {name}: {cls.__name__} in also= needs a tag")
        v = _version_of(name, cls, None)
        if v == major or v in older:
            raise ConfigurationError(f"kind {name}: two payload types for version {v}")
        older[v] = cls

    def decorate(fn: Callable[..., Any]) -> Kind:
        if len(inspect.signature(fn).parameters) != 2:
            raise ConfigurationError(f"kind {name}: the function takes (ctx, payload)")
        doc = inspect.getdoc(fn)
        return register(
            Kind(
                name=name,
                fn=fn,
                queue=queue,
                payload=payload,
                version=major,
                result=result,
                options=options,
                also=older,
                throws=throws,
                description=doc.splitlines()[0] if doc else None,
            )
        )

    return decorate
