"""Finding the kinds a worker serves: modules named on the command line,
or every module of the ``folio.jobs`` entry-point group.

A package offers its kinds to ``folio worker start`` (without ``--jobs``)
with an entry point naming the module that declares them::

    [project.entry-points."folio.jobs"]
    audio = "folio_audio.jobs"
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points

from folio_shared.errors import ConfigurationError
from folio_shared.kinds.kind import Kind, declared
from folio_shared.messages import check_queue_name

#: The entry-point group listing modules that declare job kinds.
ENTRY_POINT_GROUP = "folio.jobs"


def entry_point_modules() -> list[str]:
    """The modules of the ``folio.jobs`` entry points, by entry-point name."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    return [ep.value.split(":", 1)[0].strip() for ep in found]


def split_names(value: str) -> list[str]:
    """``"a.jobs, b.jobs"`` → ``["a.jobs", "b.jobs"]``."""
    return [part.strip() for part in value.split(",") if part.strip()]


def load_kinds(modules: Sequence[str]) -> list[Kind]:
    """Import ``modules`` (default: the entry points') and return the kinds
    they declared, by name. A module that does not import, or declares no
    kind, is a :class:`ConfigurationError` naming it."""
    chosen = list(modules) or entry_point_modules()
    if not chosen:
        raise ConfigurationError(
            f"no job kinds to serve: name modules with --jobs, or install a package"
            f" with a {ENTRY_POINT_GROUP!r} entry point"
        )
    names: set[str] = set()
    for module in chosen:
        before = set(declared())
        try:
            loaded = importlib.import_module(module)
        except ImportError as e:
            raise ConfigurationError(f"cannot import job module {module!r}: {e}") from e
        own = {
            k.name
            for k in declared().values()
            if k.name not in before or _within(getattr(k.fn, "__module__", ""), loaded.__name__)
        }
        if not own:
            raise ConfigurationError(f"module {module!r} declares no job kind")
        names |= own
    kinds = declared()
    return [kinds[n] for n in sorted(names)]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def select(kinds: Iterable[Kind], queues: Sequence[str]) -> list[Kind]:
    """The kinds on ``queues`` (every kind when ``queues`` is empty); a
    queue no kind uses is a :class:`ConfigurationError`."""
    wanted = [check_queue_name(q) for q in queues]
    chosen = [k for k in kinds if not wanted or k.queue in wanted]
    unused = sorted(set(wanted) - {k.queue for k in chosen})
    if unused:
        raise ConfigurationError(f"no job kind uses the queue(s) {', '.join(unused)}")
    return chosen


def queues_of(kinds: Iterable[Kind]) -> list[str]:
    """The logical queues of ``kinds``, each once, in order."""
    return list(dict.fromkeys(k.queue for k in kinds))
