"""What one maintenance run did, or would do with ``dry_run``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Summary:
    """The result of one maintenance run (stored as its job's ``result``).

    - ``task``: the task's name (``"expire_uploads"``, ...).
    - ``dry_run``: true when nothing was changed, only counted.
    - ``matched``: rows or objects the task found to act on.
    - ``changed``: database rows it changed or deleted (0 on a dry run).
    - ``objects_deleted``: stored objects it deleted (0 on a dry run).
    - ``details``: task-specific counts (for example the reaper's
      ``crashed_requeued``); empty when the task has none.
    """

    task: str
    dry_run: bool
    matched: int
    changed: int
    objects_deleted: int = 0
    details: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
