"""Logging set-up shared by every Folio process.

One call, :func:`configure_logging`, at an entry point. Records from the
standard library (Dramatiq, uvicorn, SQLAlchemy) and from structlog go
through the same renderer: one JSON object per line (``FOLIO_LOG_FORMAT=json``,
the default, for log collectors) or readable coloured lines (``console``,
what ``make dev`` uses). Values bound with :func:`bind_context` (job,
document, tenant ids) appear on every record of the current context.

Tax ids (CPF, CNPJ: formatted, or runs of exactly 11 or 14 digits) are
masked in every record, keeping the last two digits: a payment document's
fields or a client's expected values may reach a log line (a message's
payload in an error, for example), the person or company they name must not.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from folio_shared.settings import FolioSettings, get_settings

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


#: A CPF or CNPJ, formatted or as bare digits, not inside a longer token.
TAX_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}|\d{3}\.\d{3}\.\d{3}-\d{2}|\d{14}|\d{11})"
    r"(?![0-9A-Za-z])"
)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return TAX_ID.sub(lambda m: re.sub(r"\d", "*", m.group()[:-2]) + m.group()[-2:], value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_tax_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """structlog processor: CPF and CNPJ numbers in any value masked but their last two digits."""
    return {k: _mask(v) for k, v in event_dict.items()}


def configure_logging(settings: FolioSettings | None = None, *, service: str = "folio") -> None:
    """Route every log record of the process through one renderer."""
    settings = settings or get_settings()
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if settings.log.format == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_tax_ids,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log.level)
    structlog.contextvars.bind_contextvars(service=service)


def bind_context(**values: Any) -> None:
    """Attach ``values`` (``job_id=..., document_id=...``) to later records."""
    structlog.contextvars.bind_contextvars(**values)


def get_logger(name: str) -> Any:
    """A structlog logger named ``name``."""
    return structlog.stdlib.get_logger(name)
