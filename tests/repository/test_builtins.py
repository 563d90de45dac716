import asyncio
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest

from appserver.kinds.base import STAGE_MEMORY_BYTES, DeployEnv
from appserver.kinds.python import PythonKind, load_callable
from appserver.sandbox import Sandbox
from gateway.config import from_dict
from gateway.runtime import deploy_env
from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError, StageError
from repository.builtins import (
    BUILTIN_ENTRIES,
    INLINE_LIMIT,
    JsonToXml,
    Logger,
    Validator,
    XmlToJson,
    XmlValidator,
    Xslt,
    support,
)
from repository.builtins.support import XSLT_COST
from repository.entry import ServiceEntry
from tests.entries import check_target

ENTRIES = {e.name: e for e in BUILTIN_ENTRIES}
REQUEST = RequestContext(method="POST", path="/orders", request_id="req-1")


def json_message(value) -> Message:
    return Message(json.dumps(value).encode(), "application/json")


def xml_message(body: bytes) -> Message:
    return Message(body, "application/xml")


SANDBOX = Sandbox(STAGE_MEMORY_BYTES)


@pytest.fixture(scope="module", autouse=True)
def _workers_stopped():
    yield
    SANDBOX.close()


async def rejected(call) -> str:
    with pytest.raises(StageError) as info:
        await call
    assert info.value.rejected
    return info.value.reason


def env(tmp_path, **services) -> DeployEnv:
    return deploy_env(from_dict({"services": services} if services else {}, base_dir=tmp_path))


# --- the entries ----------------------------------------------------------------------------


def test_builtin_entries_are_valid_service_entries():
    for entry in BUILTIN_ENTRIES:
        assert ServiceEntry.from_json(entry.to_json(), check_target=check_target) == entry
        assert entry.id == f"{entry.name}@1.0.0" and entry.kind == "python"
        assert load_callable(entry.target["callable"]) is not None
        assert entry.description


def test_only_the_two_json_xml_services_are_converters():
    converters = {e.name for e in BUILTIN_ENTRIES if e.converter}
    assert converters == {"json_to_xml", "xml_to_json"}
    assert ENTRIES["json_to_xml"].input == ("application/json",)
    assert ENTRIES["xml_to_json"].output == "application/json"


# --- logger ---------------------------------------------------------------------------------


async def test_logger_logs_one_line_and_passes_the_message_on(caplog):
    logger = Logger(level="WARNING")
    message = json_message({"a": 1})
    with caplog.at_level(logging.DEBUG, logger="integration_gateway.stage.logger"):
        assert await logger(message, REQUEST) is message
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "POST /orders application/json 8 bytes request_id=req-1"


async def test_logger_appends_to_a_file_in_the_configured_folder(tmp_path):
    stage = await PythonKind().deploy(
        ENTRIES["logger"],
        {"level": "INFO", "file": "audit/x.txt"},
        env(tmp_path, logger={"dir": "logs"}),
    )
    await stage.invoke(Message(b"abc", "text/plain; charset=utf-8"), REQUEST)
    await stage.invoke(Message(b"", "text/plain"), REQUEST)
    await stage.close()
    lines = (tmp_path / "logs" / "audit" / "x.txt").read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("INFO POST /orders text/plain 3 bytes request_id=req-1")


async def test_logger_folder_defaults_to_var_log_beside_the_config(tmp_path):
    logger = Logger(file="a.log", settings=env(tmp_path).settings_of("logger"))
    await logger(Message(b"x"), None)
    logger.close()
    assert "- - application/octet-stream 1 bytes" in (tmp_path / "var/log/a.log").read_text()


async def test_logger_escapes_control_characters_in_the_path(tmp_path):
    logger = Logger(file="a.log", settings={"dir": str(tmp_path)})
    await logger(Message(b""), RequestContext(path="/x\nFAKE LINE"))
    logger.close()
    assert (tmp_path / "a.log").read_text().count("\n") == 1


@pytest.mark.parametrize(
    "file", ["/etc/passwd", "../x.log", "a/../../x.log", "..", "a\\b.log", "a\x00b", "a\n../b", ""]
)
def test_logger_file_outside_its_folder_is_an_invalid_parameter(file):
    schema = ENTRIES["logger"].params["file"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(file, schema)
    with pytest.raises(ArgumentError) as info:
        Logger.check_args({"file": file}, {})
    assert info.value.parameter == "file"


@pytest.mark.parametrize("file", ["log.txt", "kit.k1a2b3c4.txt", "sub/dir/x.log", "..hidden"])
def test_logger_file_names_inside_the_folder_are_allowed(file):
    jsonschema.validate(file, ENTRIES["logger"].params["file"])
    Logger.check_args({"file": file}, {})


def test_logger_refuses_a_symlink_that_leaves_its_folder(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "escape.log").symlink_to(tmp_path / "outside.log")
    (folder / "sub").symlink_to("/etc")
    for file in ("escape.log", "sub/passwd"):
        with pytest.raises(ArgumentError, match="leaves the log folder"):
            Logger(file=file, settings={"dir": str(folder)})
    assert not (tmp_path / "outside.log").exists()


def test_logger_check_runs_at_resolution_through_the_python_kind(tmp_path):
    with pytest.raises(ArgumentError) as info:
        PythonKind().check_args(ENTRIES["logger"], {"file": "../x"}, env(tmp_path))
    assert info.value.parameter == "file"
    with pytest.raises(ArgumentError):
        Logger.check_args({"level": "LOUD"}, {})


# --- validator ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,ctype",
    [
        (b'{"a": [1, 2]}', "application/json"),
        (b'{"a": 1}', "application/problem+json"),
        (b"<a><b/></a>", "text/xml"),
        (b"<e:Envelope xmlns:e='urn:e'/>", "application/soap+xml"),
        (b"a: 1\nb: [x, y]\n", "application/yaml"),
        ("žluťoučký".encode("iso-8859-2"), "text/plain; charset=ISO-8859-2"),
        (b"a,b\n1,2\n", "text/csv"),
        (b"\xff\x00\xfe", "application/octet-stream"),
    ],
)
async def test_validator_without_schema_accepts_well_formed_payloads(body, ctype):
    message = Message(body, ctype)
    assert await Validator(isolation=SANDBOX)(message) is message


@pytest.mark.parametrize(
    "body,ctype,reason",
    [
        (b'{"a": ', "application/json", "not well-formed JSON"),
        (b"<a><b></a>", "application/xml", "not well-formed"),
        (
            b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
            "text/xml",
            "DOCTYPE",
        ),
        (b"a: [1, 2\n", "application/yaml", "not well-formed YAML"),
        (b"\xff\xfe\xfd", "text/plain", "not utf-8 text"),
        (b"x", "text/plain; charset=nope", "unknown charset"),
    ],
)
async def test_validator_without_schema_rejects_malformed_payloads(body, ctype, reason):
    assert reason in await rejected(Validator(isolation=SANDBOX)(Message(body, ctype)))


SCHEMA = json.dumps(
    {
        "type": "object",
        "required": ["no"],
        "properties": {
            "no": {"type": "string"},
            "lines": {"type": "array", "items": {"type": "integer"}},
        },
    }
)


async def test_validator_with_schema_accepts_a_valid_payload():
    message = json_message({"no": "12", "lines": [1, 2]})
    assert await Validator(isolation=SANDBOX, schema=SCHEMA)(message) is message


async def test_validator_with_schema_names_the_failing_element():
    reason = await rejected(
        Validator(isolation=SANDBOX, schema=SCHEMA)(json_message({"no": "1", "lines": [1, "x"]}))
    )
    assert reason.startswith("$.lines[1]: 'x' is not of type 'integer'")


async def test_validator_with_schema_validates_yaml():
    reason = await rejected(
        Validator(isolation=SANDBOX, schema=SCHEMA)(Message(b"lines: [1]\n", "application/yaml"))
    )
    assert "'no' is a required property" in reason


async def test_validator_with_schema_rejects_a_payload_that_is_not_json():
    reason = await rejected(Validator(isolation=SANDBOX, schema=SCHEMA)(xml_message(b"<no>1</no>")))
    assert "JSON or YAML" in reason


async def test_validator_refuses_yaml_alias_bombs():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [{', '.join(['*' + previous] * 10)}]\n"
    reason = await rejected(
        Validator(isolation=SANDBOX, schema='{"type": "object"}')(
            Message(bomb.encode(), "application/yaml")
        )
    )
    assert "expand beyond" in reason


async def test_validator_validates_big_payloads_off_the_event_loop():
    big = {"no": "1", "lines": list(range(INLINE_LIMIT // 3))}
    message = json_message(big)
    assert len(message.body) > INLINE_LIMIT
    assert await Validator(isolation=SANDBOX, schema=SCHEMA)(message) is message
    big["lines"].append("x")
    assert "is not of type 'integer'" in await rejected(
        Validator(isolation=SANDBOX, schema=SCHEMA)(json_message(big))
    )


@pytest.mark.parametrize(
    "schema,reason",
    [
        ("{not json", "not JSON"),
        ('{"type": "nope"}', "not a valid JSON Schema"),
        ("[1]", "not a valid"),
    ],
)
def test_validator_schema_that_is_not_a_schema_is_an_invalid_parameter(schema, reason):
    with pytest.raises(ArgumentError, match=reason) as info:
        Validator.check_args({"schema": schema}, {})
    assert info.value.parameter == "schema"


async def test_validator_never_fetches_a_remote_reference():
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/schema.json"
        validator = Validator(isolation=SANDBOX, schema=json.dumps({"$ref": url}))
        assert "cannot be resolved" in await rejected(validator(json_message("x")))
    finally:
        server.shutdown()
    assert hits == []


# --- json_to_xml, xml_to_json ---------------------------------------------------------------


async def test_json_to_xml_converts_and_types_the_output():
    out = await JsonToXml(isolation=SANDBOX)(json_message({"invoice": {"no": "12"}}))
    assert out == Message(b"<invoice><no>12</no></invoice>", "application/xml")


async def test_json_to_xml_uses_the_root_param():
    out = await JsonToXml(isolation=SANDBOX, root="doc")(json_message([1, 2]))
    assert out.body == b"<doc><item>1</item><item>2</item></doc>"


async def test_json_to_xml_rejects_bad_json_and_bad_names():
    assert "not well-formed JSON" in await rejected(
        JsonToXml(isolation=SANDBOX)(Message(b"{", "application/json"))
    )
    assert "not an XML name" in await rejected(
        JsonToXml(isolation=SANDBOX)(json_message({"a b": 1}))
    )


def test_json_to_xml_root_that_is_not_a_name_is_an_invalid_parameter():
    with pytest.raises(ArgumentError) as info:
        JsonToXml.check_args({"root": "1x"}, {})
    assert info.value.parameter == "root"


async def test_xml_to_json_converts_and_types_the_output():
    out = await XmlToJson(isolation=SANDBOX)(
        xml_message(b"<order><line>a</line><line>b</line></order>")
    )
    assert out.content_type == "application/json"
    assert json.loads(out.body) == {"order": {"line": ["a", "b"]}}


async def test_xml_to_json_rejects_xxe_and_malformed_xml():
    xxe = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    assert "DOCTYPE" in await rejected(XmlToJson(isolation=SANDBOX)(xml_message(xxe)))
    assert "not well-formed" in await rejected(XmlToJson(isolation=SANDBOX)(xml_message(b"<r>")))


async def test_big_documents_convert_both_ways():
    value = {"rows": {"row": [{"@n": str(i), "v": "x" * 20} for i in range(3000)]}}
    xml = await JsonToXml(isolation=SANDBOX)(json_message(value))
    assert len(xml.body) > INLINE_LIMIT
    back = await XmlToJson(isolation=SANDBOX)(xml)
    assert json.loads(back.body) == value


# --- xml_validator --------------------------------------------------------------------------

XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="order">
    <xs:complexType><xs:sequence>
      <xs:element name="qty" type="xs:positiveInteger"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>"""


async def test_xml_validator_passes_a_valid_document():
    message = xml_message(b"<order><qty>2</qty></order>")
    assert await XmlValidator(isolation=SANDBOX, xsd=XSD)(message) is message


async def test_xml_validator_rejects_an_invalid_document_naming_the_line():
    reason = await rejected(
        XmlValidator(isolation=SANDBOX, xsd=XSD)(xml_message(b"<order>\n<qty>-1</qty></order>"))
    )
    assert reason.startswith("line 2:") and "qty" in reason


async def test_xml_validator_rejects_xxe_payloads():
    xxe = b'<!DOCTYPE order [<!ENTITY x SYSTEM "file:///etc/passwd">]><order><qty>&x;</qty></order>'
    assert "DOCTYPE" in await rejected(XmlValidator(isolation=SANDBOX, xsd=XSD)(xml_message(xxe)))


@pytest.mark.parametrize(
    "xsd,reason",
    [
        ("<xs:schema", "not well-formed"),
        (
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element/></xs:schema>',
            "not a valid",
        ),
        (
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            '<xs:include schemaLocation="file:///etc/x.xsd"/></xs:schema>',
            "self-contained",
        ),
        (
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            '<xs:import namespace="urn:x" schemaLocation="http://127.0.0.1:9/x.xsd"/></xs:schema>',
            "self-contained",
        ),
        ('<!DOCTYPE xs:schema [<!ENTITY e "x">]><xs:schema/>', "DOCTYPE"),
    ],
)
async def test_xml_validator_schema_that_cannot_compile_or_would_fetch_is_refused(xsd, reason):
    # Parsed at resolution; compiled at deploy, under the isolation and the deadline.
    with pytest.raises(ArgumentError, match=reason) as info:
        XmlValidator.check_args({"xsd": xsd}, {})
        await XmlValidator(isolation=SANDBOX, xsd=xsd).prepare()
    assert info.value.parameter == "xsd"


async def test_xml_validator_is_safe_under_concurrent_use():
    validator = XmlValidator(isolation=SANDBOX, xsd=XSD)
    good, bad = (
        xml_message(b"<order><qty>2</qty></order>"),
        xml_message(b"<order><qty>x</qty></order>"),
    )

    async def run(i: int) -> bool:
        try:
            await validator(good if i % 2 else bad)
            return True
        except StageError:
            return False

    results = await asyncio.gather(*(run(i) for i in range(400)))
    assert results == [bool(i % 2) for i in range(400)]


# --- xslt -----------------------------------------------------------------------------------

HEAD = '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'


def stylesheet(body: str, extra: str = "") -> str:
    return f"{HEAD} {extra}>{body}</xsl:stylesheet>"


async def test_xslt_transforms_xml():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet('<xsl:template match="/order"><invoice n="{qty}"/></xsl:template>'),
    )
    out = await xslt(xml_message(b"<order><qty>2</qty></order>"))
    assert out.content_type == "application/xml"
    assert out.body.strip().endswith(b'<invoice n="2"/>')


async def test_xslt_text_output_is_text_plain():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            '<xsl:output method="text"/>'
            '<xsl:template match="/">qty=<xsl:value-of select="//qty"/></xsl:template>'
        ),
    )
    out = await xslt(xml_message(b"<order><qty>2</qty></order>"))
    assert out == Message(b"qty=2", "text/plain; charset=utf-8")


async def test_xslt_document_function_is_rejected_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text("<s>TOP SECRET</s>")
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            f'<xsl:template match="/"><x><xsl:copy-of select="document(\'{secret.as_uri()}\')"/>'
            "</x></xsl:template>"
        ),
    )
    reason = await rejected(xslt(xml_message(b"<a/>")))
    assert "denied" in reason and "TOP SECRET" not in reason


async def test_xslt_extension_function_is_rejected():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            "<xsl:template match='/'><x>"
            "<xsl:value-of select=\"php:function('system', 'id')\"/>"
            "</x></xsl:template>",
            'xmlns:php="http://php.net/xsl"',
        ),
    )
    assert "extension function (php:function)" in await rejected(xslt(xml_message(b"<a/>")))


async def test_xslt_exslt_regular_expressions_are_not_available():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            "<xsl:template match='/'><x><xsl:value-of select=\"re:test('aaa', '(a+)+$')\"/>"
            "</x></xsl:template>",
            'xmlns:re="http://exslt.org/regular-expressions"',
        ),
    )
    assert "extension function (re:test)" in await rejected(xslt(xml_message(b"<a/>")))


async def test_xslt_exslt_functions_are_extension_functions_too():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            "<xsl:variable name='v'><a/></xsl:variable><xsl:template match='/'>"
            '<x n="{count(exsl:node-set($v)/a)}"/></xsl:template>',
            'xmlns:exsl="http://exslt.org/common"',
        ),
    )
    assert "extension function (exsl:node-set)" in await rejected(xslt(xml_message(b"<a/>")))


async def test_xslt_axis_steps_are_not_extension_functions():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            "<xsl:template match='/'><n><xsl:value-of select=\"count(child::node())\"/></n>"
            "</xsl:template>"
        ),
    )
    assert (await xslt(xml_message(b"<a/>"))).body.strip().endswith(b"<n>1</n>")


@pytest.mark.parametrize(
    "reaching",
    [
        '<xsl:include href="file:///etc/passwd"/>',
        '<xsl:import href="http://127.0.0.1:9/x.xsl"/>',
    ],
)
async def test_xslt_reaching_for_another_file_is_rejected_when_it_runs(reaching):
    Xslt.check_args({"stylesheet": stylesheet(reaching)}, {})  # not an invalid parameter
    xslt = Xslt(isolation=SANDBOX, stylesheet=stylesheet(reaching))
    assert "another file" in await rejected(xslt(xml_message(b"<a/>")))


async def test_xslt_cannot_write_files(tmp_path):
    target = tmp_path / "written.txt"
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            f'<xsl:template match="/"><exsl:document href="{target.as_uri()}" method="text">'
            "x</exsl:document><x/></xsl:template>",
            'xmlns:exsl="http://exslt.org/common" extension-element-prefixes="exsl"',
        ),
    )
    assert "extension element (exsl:document)" in await rejected(xslt(xml_message(b"<a/>")))
    assert not target.exists()


async def test_xslt_terminating_message_is_a_rejection():
    xslt = Xslt(
        isolation=SANDBOX,
        stylesheet=stylesheet(
            '<xsl:template match="/"><xsl:message terminate="yes">no</xsl:message></xsl:template>'
        ),
    )
    assert "no" in await rejected(xslt(xml_message(b"<a/>")))


@pytest.mark.parametrize(
    "text,reason",
    [
        ("<xsl:stylesheet", "not well-formed"),
        (
            stylesheet('<xsl:template match="/"><xsl:value-of select="1 +"/></xsl:template>'),
            "does not compile",
        ),
        ("", "the text of an XSLT stylesheet"),
    ],
)
async def test_xslt_stylesheet_that_does_not_compile_is_an_invalid_parameter(text, reason):
    # Parsed at resolution; compiled at deploy, under the isolation and the deadline.
    with pytest.raises(ArgumentError, match=reason) as info:
        Xslt.check_args({"stylesheet": text}, {})
        await Xslt(isolation=SANDBOX, stylesheet=text).prepare()
    assert info.value.parameter == "stylesheet"


# --- sizes and the thread hand-off ----------------------------------------------------------


def test_size_estimates_grow_with_what_is_compiled():
    # What is compiled lives in the isolation's workers, within their own byte bound.
    small, large = (
        Xslt(isolation=SANDBOX, stylesheet=stylesheet("")),
        Xslt(isolation=SANDBOX, stylesheet=stylesheet("<!--" + "x" * 10_000 + "-->")),
    )
    assert large.size_bytes() > small.size_bytes() + 10_000
    assert XmlValidator(isolation=SANDBOX, xsd=XSD).size_bytes() > len(XSD)
    assert (
        Validator(isolation=SANDBOX, schema=SCHEMA).size_bytes()
        > Validator(isolation=SANDBOX).size_bytes()
    )


async def test_small_payloads_are_answered_at_once_and_large_ones_under_the_isolation():
    small = Message(b'{"a": {"b": "1"}}', "application/json")
    large = Message(json.dumps({"a": {"b": "x" * INLINE_LIMIT}}).encode(), "application/json")
    converter, validator = JsonToXml(isolation=SANDBOX), Validator(isolation=SANDBOX)
    assert converter.call_now(small) == Message(b"<a><b>1</b></a>", "application/xml")
    assert validator.call_now(small) is small
    assert converter.call_now(large) is None and validator.call_now(large) is None
    converted = await converter(large)
    assert converted.body == b"<a><b>" + b"x" * INLINE_LIMIT + b"</b></a>"
    assert await validator(large) is large
    # A schema's check costs what the client's schema makes it cost: never at once.
    assert Validator(isolation=SANDBOX, schema=SCHEMA).call_now(small) is None


async def test_a_validated_json_payload_is_parsed_once_for_the_converter_after_it():
    message = Message(b'{"a": {"b": "1"}}', "application/json")
    validator, converter = Validator(isolation=SANDBOX), JsonToXml(isolation=SANDBOX)
    checked = validator.call_now(message)
    assert checked is message and checked.json() == {"a": {"b": "1"}}
    parsed = checked.json()
    assert checked.json() is parsed  # the converter reads the same value
    assert converter.call_now(checked).body == b"<a><b>1</b></a>"


async def test_python_kind_deploys_every_builtin_as_a_stage(tmp_path):
    args = {
        "logger": {"level": "INFO", "file": None},
        "validator": {"schema": None},
        "json_to_xml": {"root": "root"},
        "xml_to_json": {"root": "root"},
        "xml_validator": {"xsd": XSD},
        "xslt": {"stylesheet": stylesheet('<xsl:template match="/"><x/></xsl:template>')},
    }
    for entry in BUILTIN_ENTRIES:
        stage = await PythonKind().deploy(entry, args[entry.name], env(tmp_path))
        assert stage.size_bytes() > 0
        await stage.close()
    stage = await PythonKind().deploy(ENTRIES["json_to_xml"], {}, env(tmp_path))
    out = await asyncio.wait_for(stage.invoke(json_message({"a": {"b": "1"}}), REQUEST), 5)
    assert out == Message(b"<a><b>1</b></a>", "application/xml")
    assert os.listdir(tmp_path) == []  # a logger without a file opens nothing


def test_a_workers_compiled_documents_are_bounded_in_bytes():
    support.worker_started(4 * 1024 * 1024)  # a quarter of it, 1 MiB, for compilations
    try:
        made = []
        for i in range(40):  # 40 stylesheets of ~48 KiB each by their measured cost
            source = stylesheet(f"<!-- {i} -->")
            support.compiled("xslt", source, lambda text: made.append(text) or text, XSLT_COST)
        assert len(made) == 40
        held = sum(c.igw_cost for c in support._compiled.values())
        assert 0 < held <= 1024 * 1024 and len(support._compiled) < 40
        # The most recent one is kept: using it again compiles nothing.
        support.compiled("xslt", stylesheet("<!-- 39 -->"), made.append, XSLT_COST)
        assert len(made) == 40
    finally:
        support.worker_started(STAGE_MEMORY_BYTES)


@pytest.mark.parametrize(
    "body",
    [
        '<xsl:template match="/"><xsl:value-of select="1-exsl:node-set(.)"/></xsl:template>',
        '<xsl:template match="/"><xsl:value-of select="(1)-exsl:node-set(.)"/></xsl:template>',
    ],
)
async def test_xslt_extension_calls_after_an_operator_are_found(body):
    xslt = Xslt(
        isolation=SANDBOX, stylesheet=stylesheet(body, 'xmlns:exsl="http://exslt.org/common"')
    )
    assert "extension function (exsl:node-set)" in await rejected(xslt(xml_message(b"<a/>")))


def test_xslt_output_media_type_that_is_no_media_type_is_an_invalid_parameter():
    text = stylesheet(
        '<xsl:output media-type="text/plain&#10;X-Evil: 1"/><xsl:template match="/"/>'
    )
    with pytest.raises(ArgumentError, match="not a media type"):
        Xslt.check_args({"stylesheet": text}, {})


@pytest.mark.parametrize("method", ["xml", "text"])
def test_xslt_output_in_an_unknown_encoding_is_an_invalid_parameter(method):
    text = stylesheet(
        f'<xsl:output method="{method}" encoding="x-no-such-charset"/>'
        '<xsl:template match="/"><b>é</b></xsl:template>'
    )
    with pytest.raises(ArgumentError, match="encoding 'x-no-such-charset' is unknown"):
        Xslt.check_args({"stylesheet": text}, {})
