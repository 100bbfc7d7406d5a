"""``Idempotency-Key`` declared in the OpenAPI document on every ``POST``
that takes it (every ``POST`` route that runs
:class:`~folio_api.domain.idempotency.middleware.IdempotencyMiddleware`,
whichever router adds it), so generated clients and readers of
``/schema`` see it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from litestar import Litestar
from litestar.openapi.spec import OpenAPIResponse, Operation, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType

from folio_api.domain.idempotency.middleware import IdempotencyMiddleware
from folio_api.domain.idempotency.purge import RETENTION_S

IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in="header",
    required=False,
    description=(
        "Send the request again with the same key (after a timeout or a lost answer) "
        f"within {RETENTION_S // 3600} h to get the first answer again "
        "(`Idempotent-Replayed: true`) instead of creating a second thing; the same key "
        "with another request is 422 `idempotency_key_reused`."
    ),
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern="^[!-~]+$"),
)


#: The refusals the key adds to an operation's answers (problem details).
REFUSALS = {
    "409": "`idempotency_key_in_use`: the first request with this key is still running",
    "422": "`idempotency_key_reused`: this key was used for another request",
}


@dataclass
class IdempotentOperation(Operation):
    """An operation that takes ``Idempotency-Key``, with the refusals it
    adds documented like the operation's other problem answers."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), IDEMPOTENCY_KEY]
        responses = dict(self.responses or {})
        problem = responses.get("400")
        if isinstance(problem, OpenAPIResponse):
            for status, description in REFUSALS.items():
                responses.setdefault(status, replace(problem, description=description))
        self.responses = responses


def declare_idempotency_key(app: Litestar) -> Litestar:
    """``app``, each ``POST`` handler that runs the idempotency middleware
    documented with ``Idempotency-Key`` (before ``/schema`` is first built)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if "POST" in handler.http_methods and any(
                isinstance(m, IdempotencyMiddleware) for m in handler.resolve_middleware()
            ):
                handler.operation_class = IdempotentOperation
    return app
