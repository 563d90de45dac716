"""The built-ins' entries (SPEC §3), which the repository is seeded with; each names its
class as `repository.builtins:Name`."""

from __future__ import annotations

from typing import Any

from igwcore import mediatype
from repository.builtins.converters import JsonToXml, XmlToJson
from repository.builtins.logger import LEVELS, LOG_FILE_PATTERN, Logger
from repository.builtins.support import JSON, XML
from repository.builtins.validator import Validator
from repository.builtins.xmlservices import XmlValidator, Xslt
from repository.entry import ServiceEntry


def _entry(
    cls: type,
    name: str,
    description: str,
    params: dict[str, dict[str, Any]],
    input: tuple[str, ...] = ("*/*",),
    output: str = mediatype.SAME,
    converter: bool = False,
) -> ServiceEntry:
    return ServiceEntry(
        name=name,
        version="1.0.0",
        kind="python",
        target={"callable": f"repository.builtins:{cls.__name__}"},
        description=description,
        params=params,
        input=input,
        output=output,
        converter=converter,
    )


ROOT_PARAM = {
    "type": "string",
    "default": "root",
    "description": "The wrapper element for what is not a single-key object.",
}

BUILTIN_ENTRIES: tuple[ServiceEntry, ...] = (
    _entry(
        Logger,
        "logger",
        "Logs each message (method, path, media type, size, request id) and passes it on; "
        "with `file`, also appends the line to that file in [services.logger] dir.",
        {
            "level": {"type": "string", "enum": list(LEVELS), "default": "INFO"},
            "file": {
                "type": ["string", "null"],
                "default": None,
                "maxLength": 255,
                "pattern": LOG_FILE_PATTERN,
                "description": "A file name inside the log folder; no absolute path, no '..'.",
            },
        },
    ),
    _entry(
        Validator,
        "validator",
        "Checks the payload: with `schema` (a JSON Schema as JSON text), that it is JSON or "
        "YAML valid against it; without, that it is well-formed for its media type.",
        {"schema": {"type": ["string", "null"], "default": None}},
    ),
    _entry(
        JsonToXml,
        "json_to_xml",
        "Converts JSON to XML: keys are elements, lists repeated elements, `@name` "
        "attributes, `#text` text; a single-key object is the root element.",
        {"root": ROOT_PARAM},
        input=(JSON,),
        output=XML,
        converter=True,
    ),
    _entry(
        XmlToJson,
        "xml_to_json",
        "Converts XML to JSON, the inverse of json_to_xml; text is read as strings.",
        {"root": ROOT_PARAM},
        input=(XML,),
        output=JSON,
        converter=True,
    ),
    _entry(
        XmlValidator,
        "xml_validator",
        "Validates XML against an XML Schema given as text in `xsd`; the schema must be "
        "self-contained (nothing is fetched).",
        {"xsd": {"type": "string", "minLength": 1}},
        input=(XML,),
    ),
    _entry(
        Xslt,
        "xslt",
        "Transforms XML with an XSLT 1.0 stylesheet given as text in `stylesheet`, with no "
        "access to files, the network or extension functions.",
        {"stylesheet": {"type": "string", "minLength": 1}},
        input=(XML,),
        output=XML,
    ),
)
