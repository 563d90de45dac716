"""Pipes of made-up services, for the tests of type-checking and converters."""

from __future__ import annotations

from typing import Any

from appserver.plan import PlannedStage
from repository.entry import ServiceEntry


def entry(name: str, input: tuple[str, ...], output: str, **fields: Any) -> ServiceEntry:
    fields.setdefault("kind", "python")
    fields.setdefault("target", {"callable": "m:f"})
    return ServiceEntry(name=name, input=input, output=output, **fields)


def stage(service: ServiceEntry) -> PlannedStage:
    return PlannedStage(descriptor=service.name, service=service)


def pipe(*services: ServiceEntry) -> tuple[PlannedStage, ...]:
    return tuple(stage(s) for s in services)


JSON, XML = "application/json", "application/xml"
LOGGER = entry("logger", ("*/*",), "same")
VALIDATOR = entry("validator", ("*/*",), "same")
XML_VALIDATOR = entry("xml_validator", (XML,), "same")
JSON_TO_XML = entry("json_to_xml", ("JSON",), "XML", converter=True)
XML_TO_JSON = entry("xml_to_json", ("application/xml",), "JSON", converter=True)
CSV_TO_JSON = entry("csv_to_json", ("text/csv",), JSON, converter=True)
HTTP = entry("upstream", ("*/*",), "*/*", kind="http")
CSV_ONLY = entry("csv_report", ("text/csv",), "text/plain")
CONVERTERS = (JSON_TO_XML, XML_TO_JSON, CSV_TO_JSON)
