"""What an isolated child may see and send: its environment and its reply.

The child parses untrusted files, so Folio plans for a child running code
an attacker chose. Two walls keep that from reaching the worker:

**A scrubbed environment.** Children start (from the forkserver, or
spawned) with only the variables of :data:`KEPT_VARIABLES` /
:data:`KEPT_PREFIXES` — the paths, locale, temp folder, Python's and the
native libraries' own — never the worker's database URL, Redis URL, S3 keys
or signing secret (:func:`child_environment`). The variables are swapped
only while a child process is started (:func:`scrubbed_environ`); Folio
reads its settings once at start-up, so nothing of its own reads the
environment in that moment.

**A typed reply, never a pickle.** The child sends back bytes: a
MessagePack :class:`Reply` made by :func:`encode_reply`, which the parent
decodes with msgspec into the type the function's return annotation names
(:func:`decode_reply`); a reply of another shape, or one that does not
decode, is a :class:`~folio_shared.errors.ChildRaised`, and nothing in it
is executed. An error comes back as its class's module and name, message
and details: a ``FolioError`` subclass of a module the parent has already
imported is raised as itself, a built-in exception as itself, anything else
as ``ChildRaised`` naming the type (no module is imported on a child's
word).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import sys
import traceback
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

from folio_shared.errors import ChildRaised, ChildReplyUnreadable, FolioError

#: Variables a child keeps, by exact name.
KEPT_VARIABLES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP",
        "TMP", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "TESSDATA_PREFIX",
    }
)  # fmt: skip
#: Variables a child keeps, by prefix: locale, Python's own, thread limits of
#: the native libraries (OpenMP, BLAS), coverage of the test suite.
KEPT_PREFIXES = ("LC_", "PYTHON", "OMP_", "OPENBLAS_", "MKL_", "COVERAGE_")

#: Longest reply read from a child, in bytes.
MAX_REPLY_BYTES = 1024**3


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` a child may see (see the module notes)."""
    return {
        name: value
        for name, value in environ.items()
        if name in KEPT_VARIABLES or name.startswith(KEPT_PREFIXES)
    }


@contextlib.contextmanager
def scrubbed_environ() -> Iterator[None]:
    """Within the block, ``os.environ`` holds only :func:`child_environment`
    (the block starts a child process); restored on the way out."""
    # not a settings read: the environment a child inherits is swapped
    environ = os.environ  # noqa: TID251
    saved = dict(environ)
    kept = child_environment(saved)
    try:
        for name in saved.keys() - kept.keys():
            del environ[name]
        yield
    finally:
        environ.update(saved)


class ErrorInfo(msgspec.Struct, frozen=True):
    """An exception as a child sends it: class ``module`` and ``name``,
    ``message``, ``details`` (plain values) and the formatted ``traceback``."""

    module: str
    name: str
    message: str
    details: dict[str, Any] = {}
    traceback: str = ""


class Reply(msgspec.Struct, frozen=True):
    """A child's answer: ``ok`` with the encoded ``value``, or ``error``."""

    ok: bool
    value: msgspec.Raw = msgspec.Raw(b"\xc0")  # MessagePack nil
    error: ErrorInfo | None = None


def _plain(value: object) -> object:
    return repr(value)  # details that do not encode travel as text


_ENCODER = msgspec.msgpack.Encoder()
_DETAILS_ENCODER = msgspec.msgpack.Encoder(enc_hook=_plain)
_REPLY_DECODER = msgspec.msgpack.Decoder(Reply)


def error_info(error: BaseException) -> ErrorInfo:
    """``error`` as a child sends it."""
    details = error.details if isinstance(error, FolioError) else {}
    plain = msgspec.msgpack.decode(_DETAILS_ENCODER.encode(details))
    return ErrorInfo(
        module=type(error).__module__,
        name=type(error).__qualname__,
        message=error.message if isinstance(error, FolioError) else str(error),
        details=plain if isinstance(plain, dict) else {},
        traceback="".join(traceback.format_exception(error)),
    )


def encode_reply(fn: Callable[..., object], call: Callable[[], object]) -> bytes:
    """Run ``call`` (in the child) and encode its result or its exception.
    ``MemoryError`` propagates: the child exits on it."""
    try:
        value = call()
    except MemoryError:
        raise
    except BaseException as raised:
        return _ENCODER.encode(Reply(ok=False, error=error_info(raised)))
    try:
        return _ENCODER.encode(Reply(ok=True, value=msgspec.Raw(_ENCODER.encode(value))))
    except (TypeError, ValueError, OverflowError) as e:
        name = getattr(fn, "__name__", repr(fn))
        unsent = ChildRaised(f"the result of {name} cannot be sent: {e}", type="TypeError")
        return _ENCODER.encode(Reply(ok=False, error=error_info(unsent)))


@functools.cache
def result_type(fn: Callable[..., object]) -> Any:
    """The type ``fn``'s return annotation names (``Any`` when it has none)."""
    try:
        return typing.get_type_hints(fn).get("return", Any)
    except Exception:  # no annotations to read (a builtin), or unresolvable
        return Any


def decode_reply(fn: Callable[..., object], data: bytes) -> object:
    """The value of a child's reply, as ``fn``'s return type; raises the
    child's error (see the module notes) or :class:`ChildReplyUnreadable`
    when the reply does not decode."""
    try:
        reply = _REPLY_DECODER.decode(data)
        if reply.ok:
            return msgspec.msgpack.decode(reply.value, type=result_type(fn))
    except msgspec.MsgspecError as e:
        raise ChildReplyUnreadable(
            f"the child's reply cannot be read: {e}", type=type(e).__name__, traceback=""
        ) from None
    assert reply.error is not None
    raise rebuilt(reply.error)


def rebuilt(info: ErrorInfo) -> BaseException:
    """The exception ``info`` describes, raised as itself when it is a
    ``FolioError`` of a module already imported, or a built-in one."""
    module = sys.modules.get(info.module) if info.module != "builtins" else builtins
    cls = getattr(module, info.name, None) if module is not None else None
    if isinstance(cls, type) and issubclass(cls, FolioError):
        error = cls.__new__(cls)
        FolioError.__init__(error, info.message, **info.details)
        return error
    if module is builtins and isinstance(cls, type) and issubclass(cls, Exception):
        with contextlib.suppress(Exception):
            return cls(info.message)
    return ChildRaised(f"{info.name}: {info.message}", type=info.name, traceback=info.traceback)
