"""W3C trace context and OpenTelemetry spans: one a request, one a stage.

Without an exporter (`[telemetry] exporter = ""`, the default) nothing is recorded and the
client's `traceparent` is passed on to `http` and `soap` stages as it came. With one
(`"console"`, or `"otlp"` with the optional extra `integration-gateway[otel]`), each
integration request gets a server span (a child of the client's `traceparent`) and each
stage a child span, and a stage's outgoing call carries that stage span's `traceparent`.
The OpenTelemetry SDK is imported only when an exporter is configured.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.config import TelemetrySection


class Tracing:
    """Spans for requests and stages; every method is a no-op while `tracer` is None."""

    def __init__(self, tracer: Any = None, provider: Any = None) -> None:
        self.tracer = tracer
        self._provider = provider

    @classmethod
    def from_config(cls, telemetry: TelemetrySection) -> Tracing:
        if not telemetry.exporter:
            return cls()
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(
            resource=Resource.create({"service.name": telemetry.service_name})
        )
        provider.add_span_processor(BatchSpanProcessor(_exporter(telemetry)))
        return cls(provider.get_tracer("integration-gateway"), provider)

    @contextlib.contextmanager
    def request(self, method: str, path: str, headers: Mapping[str, str]) -> Iterator[Any]:
        if self.tracer is None:
            yield None
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        parent = extract(dict(headers))
        with self.tracer.start_as_current_span(
            f"{method} integration",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            yield span

    @contextlib.contextmanager
    def stage(self, index: int, service: str, given: str | None) -> Iterator[str | None]:
        """A span for one stage; yields the `traceparent` its outgoing call should carry."""
        if self.tracer is None:
            yield given
            return
        from opentelemetry.propagate import inject

        with self.tracer.start_as_current_span(
            f"stage {index} {service}",
            attributes={"igw.stage": index, "igw.service": service},
        ):
            carrier: dict[str, str] = {}
            inject(carrier)
            yield carrier.get("traceparent", given)

    @staticmethod
    def annotate(span: Any, **attributes: Any) -> None:
        if span is not None:
            span.set_attributes({k: v for k, v in attributes.items() if v is not None})

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()


def _exporter(telemetry: TelemetrySection) -> Any:
    if telemetry.exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=telemetry.endpoint or None)
