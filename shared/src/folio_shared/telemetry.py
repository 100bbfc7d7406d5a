"""OpenTelemetry tracing: one trace from the upload request to the last page.

The trace context travels *inside each message*: :class:`Tracing` writes it
(W3C ``traceparent``) into the Dramatiq message's options when the message
is sent, and continues it when a worker processes the message. So the API's
request span, the extraction job, each OCR page job and the completion
(embedding) step share one trace id, whichever process or service runs them.

Spans:

- ``send <actor>`` (producer), child of whatever span is current at the
  send (the HTTP request, the parent job's consumer span);
- ``process <actor>`` (consumer), child of the producer span, with
  attributes ``folio.job_id``, ``folio.tenant_id``, ``folio.document_id``,
  ``folio.parent_job_id``, ``folio.attempt`` and ``folio.page_no`` (OCR
  pages), set by :class:`JobSpanAttributes` once the job is claimed.

A retry keeps the context of the first send (the same trace); a manual
retry or re-drive starts a new trace. Log records written while a message
is processed carry ``trace_id``, ``message_id``, ``actor``, ``job_id``,
``tenant_id`` and ``document_id`` (bound with structlog's context).

Exporters (:func:`configure_tracing`): ``otlp`` (OTLP over HTTP, to
``otlp_endpoint``), ``console`` (spans printed as JSON) or ``none``. With
``none`` nothing is recorded: the API makes no request or send spans at
all (they cost the busiest routes measurably), and a worker's consumer
span is a non-recording one that still carries the incoming trace id into
the log context. A process records every span while it has an
exporter or a span processor, whatever the upstream ``traceparent``'s
sampled flag says: each service decides for itself whether it exports.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from folio_shared.errors import ConfigurationError
from folio_shared.jobs.context import current_job_or_none
from folio_shared.logging import bind_context, get_logger

log = get_logger(__name__)

#: Message option carrying the W3C trace context.
TRACE_OPTION = "trace_context"
#: Exporters :func:`configure_tracing` knows.
EXPORTERS = ("none", "console", "otlp")
#: Log context keys bound while a message is processed.
_LOG_KEYS = ("message_id", "actor", "trace_id", "job_id", "tenant_id", "document_id")

_lock = threading.Lock()


class _RecordWhileExporting(Sampler):
    """Record (and sample) every span while the process exports spans;
    otherwise drop them: they keep their ids (propagation, log context) and
    cost almost nothing."""

    def __init__(self) -> None:
        self.exporting = False

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        # as the SDK's own samplers: the span's attributes and the parent's
        # trace state pass through
        parent_state = trace.get_current_span(parent_context).get_span_context().trace_state
        if self.exporting:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent_state)
        return SamplingResult(Decision.DROP, None, parent_state)

    def get_description(self) -> str:
        return "RecordWhileExporting"


_sampler = _RecordWhileExporting()


def exporting() -> bool:
    """Whether this process records spans (an exporter or a processor is
    installed); hot paths skip creating spans nobody will see."""
    return _sampler.exporting


def configure_tracing(
    settings: Any = None,
    *,
    service_name: str = "folio",
    exporter: str | None = None,
    otlp_endpoint: str | None = None,
    processors: Iterable[SpanProcessor] = (),
) -> TracerProvider:
    """Install the process's tracer provider (once; later calls add
    ``processors`` to it and return it).

    ``exporter`` and ``otlp_endpoint`` default to the settings'
    ``telemetry.exporter`` / ``telemetry.otlp_endpoint`` when that group
    exists, else ``none`` and the OTLP default (``http://localhost:4318``).
    """
    group = getattr(settings, "telemetry", None)
    exporter = exporter or str(getattr(group, "exporter", "") or "none")
    otlp_endpoint = otlp_endpoint or getattr(group, "otlp_endpoint", None) or None
    if exporter not in EXPORTERS:
        raise ConfigurationError(
            f"unknown trace exporter {exporter!r}; expected one of {', '.join(EXPORTERS)}",
            exporter=exporter,
        )
    with _lock:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            provider = current
        else:
            provider = TracerProvider(
                resource=Resource.create({"service.name": service_name}), sampler=_sampler
            )
            if exporter == "console":
                provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
            elif exporter == "otlp":
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                endpoint = f"{otlp_endpoint.rstrip('/')}/v1/traces" if otlp_endpoint else None
                provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
            trace.set_tracer_provider(provider)
            log.info("tracing configured", exporter=exporter, service=service_name)
            if exporter != "none":
                _sampler.exporting = True
        for p in processors:
            provider.add_span_processor(p)
            _sampler.exporting = True
    return provider


def trace_carrier() -> dict[str, str]:
    """The current trace context as a message carries it (empty when there
    is none: no span and no baggage, which every propagator writes as
    nothing; the common case in a process that exports no spans, decided
    without running the propagators)."""
    if not trace.get_current_span().get_span_context().is_valid and not baggage.get_all():
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def inject(options: dict[str, Any]) -> None:
    """Write the current trace context into message ``options``."""
    carrier = trace_carrier()
    if carrier:
        options[TRACE_OPTION] = carrier


#: The tracer of :func:`trace_send`, taken once: ``get_tracer`` builds a
#: tracer at every call (~2 % of the API's CPU when it ran per message of
#: a ``process`` request). Made before :func:`configure_tracing` it is
#: OpenTelemetry's proxy, which uses the provider installed later.
_SEND_TRACER = trace.get_tracer(__name__)


def trace_send(message: Any, carrier: dict[str, str]) -> None:
    """What :class:`Tracing` does for a message sent in the current context
    (a ``send`` span, whose context the message carries), for one sent
    later, from another task, on behalf of the trace in ``carrier`` (an
    API request's, taken with :func:`trace_carrier`): the send span is
    that request's child."""
    _trace_send(_SEND_TRACER, message, None, carrier)


def _trace_send(
    tracer: trace.Tracer, message: Any, delay: int | None, carrier: dict[str, str] | None
) -> None:
    """A ``send`` span for ``message`` (under ``carrier``'s context, or the
    current one), and its context into the message's options."""
    if not exporting():  # the context, if any, travels on
        if carrier is None:
            inject(message.options)
        elif carrier:
            message.options[TRACE_OPTION] = carrier
        return
    with tracer.start_as_current_span(
        f"send {message.actor_name}",
        context=None if carrier is None else propagate.extract(carrier),
        kind=SpanKind.PRODUCER,
        attributes={
            **_message_attributes(message),
            "folio.job_id": str(message.options.get("job_id") or ""),
            "folio.delay_ms": int(delay or 0),
        },
    ):
        inject(message.options)


def _message_attributes(message: Any) -> dict[str, str]:
    """The span attributes of every message's span, sent or processed."""
    return {
        "messaging.system": "dramatiq",
        "messaging.destination.name": message.queue_name,
        "messaging.message.id": message.message_id,
        "folio.actor": message.actor_name,
    }


def extract(options: dict[str, Any]) -> otel_context.Context:
    """The trace context a message carries (empty when none)."""
    carrier = options.get(TRACE_OPTION)
    return propagate.extract(carrier if isinstance(carrier, dict) else {})


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or ``None``."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


class Tracing(Middleware):
    """Carries the trace context in messages and opens a span per message.

    Placement: first. Its ``before_process_message`` opens the consumer span
    before anything else runs, and Dramatiq runs ``after_*`` hooks in
    reverse order, so the span is still current while later middleware
    sends messages (a retry, the fan-in completion) and closes last.

    - ``tracer_provider``: where spans go (default: the global provider,
      see :func:`configure_tracing`; without one, spans are no-ops).
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._open: dict[str, tuple[trace.Span, object]] = {}
        self._lock = threading.Lock()

    def before_enqueue(self, broker: dramatiq.Broker, message: Any, delay: int | None) -> None:
        if TRACE_OPTION in message.options:
            return  # a retry, a delayed message moving on, or marked by trace_send
        _trace_send(self._tracer, message, delay, None)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        span = self._tracer.start_span(
            f"process {message.actor_name}",
            context=extract(message.options),
            kind=SpanKind.CONSUMER,
            attributes={
                **_message_attributes(message),
                "folio.retries": int(message.options.get("retries") or 0),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        with self._lock:
            self._open[message.message_id] = (span, token)
        ctx = span.get_span_context()
        bind_context(
            message_id=message.message_id,
            actor=message.actor_name,
            trace_id=format(ctx.trace_id, "032x") if ctx.is_valid else None,
            job_id=message.options.get("job_id"),
        )

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._close(message, exception=exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._close(message, skipped=True)

    def _close(
        self,
        message: MessageProxy,
        *,
        exception: BaseException | None = None,
        skipped: bool = False,
    ) -> None:
        with self._lock:
            entry = self._open.pop(message.message_id, None)
        structlog.contextvars.unbind_contextvars(*_LOG_KEYS)
        if entry is None:
            return
        span, token = entry
        if skipped:
            span.set_attribute("folio.skipped", True)
        if exception is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        span.end()
        # A context already reset elsewhere leaves nothing to undo.
        with contextlib.suppress(Exception):
            otel_context.detach(token)  # type: ignore[arg-type]


class JobSpanAttributes(Middleware):
    """Adds the job's ids to the current consumer span and to log records.

    Placement: after ``JobTracking`` (the job is claimed, its context known)
    and after :class:`Tracing` (its span is current).
    """

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        ctx = current_job_or_none()
        span = trace.get_current_span()
        payload = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
        page_no = payload.get("page_no")
        if page_no is not None:
            span.set_attribute("folio.page_no", int(page_no))
        if ctx is None:
            return
        attrs: dict[str, Any] = {"folio.job_id": str(ctx.job_id), "folio.attempt": ctx.attempt}
        if ctx.tenant_id:
            attrs["folio.tenant_id"] = str(ctx.tenant_id)
        if ctx.document_id:
            attrs["folio.document_id"] = str(ctx.document_id)
        if ctx.parent_id:
            attrs["folio.parent_job_id"] = str(ctx.parent_id)
        span.set_attributes(attrs)
        bind_context(
            job_id=str(ctx.job_id),
            tenant_id=str(ctx.tenant_id) if ctx.tenant_id else None,
            document_id=str(ctx.document_id) if ctx.document_id else None,
        )
