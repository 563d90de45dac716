"""Converters put into a pipe by `auto_convert` (SPEC §2)."""

from __future__ import annotations

import pytest

from appserver.plan import check
from assembler.convert import insert_converters
from igwcore.problems import TypeMismatch
from tests.pipes import (
    CONVERTERS,
    CSV_ONLY,
    HTTP,
    JSON,
    JSON_TO_XML,
    LOGGER,
    XML,
    XML_TO_JSON,
    XML_VALIDATOR,
    entry,
    pipe,
)

# -- insert_converters --------------------------------------------------------------------


def test_auto_convert_inserts_unique_converter() -> None:
    stages = insert_converters(pipe(XML_TO_JSON, XML_VALIDATOR), CONVERTERS)
    assert [s.service.name for s in stages] == ["xml_to_json", "json_to_xml", "xml_validator"]
    inserted = stages[1]
    assert inserted.inserted
    assert inserted.descriptor == "application/json -> application/xml"
    assert check(stages, XML) == XML


def test_auto_convert_fills_the_converter_defaults() -> None:
    with_root = entry(
        "json_to_xml",
        (JSON,),
        XML,
        converter=True,
        params={"root": {"type": "string", "default": "root"}},
    )
    stages = insert_converters(pipe(XML_TO_JSON, XML_VALIDATOR), [with_root])
    assert stages[1].args == {"root": "root"}


def test_auto_convert_leaves_the_link_when_several_converters_match() -> None:
    other = entry("fast_json_to_xml", (JSON,), XML, converter=True)
    stages = pipe(XML_TO_JSON, XML_VALIDATOR)
    assert insert_converters(stages, [*CONVERTERS, other]) == stages


def test_auto_convert_leaves_the_link_when_no_converter_matches() -> None:
    stages = pipe(JSON_TO_XML, CSV_ONLY)
    assert insert_converters(stages, CONVERTERS) == stages
    with pytest.raises(TypeMismatch):
        check(stages, JSON)


def test_auto_convert_never_converts_links_that_depend_on_the_request_type() -> None:
    stages = pipe(LOGGER, XML_VALIDATOR)
    assert insert_converters(stages, CONVERTERS) == stages


def test_auto_convert_leaves_any_output_alone() -> None:
    stages = pipe(HTTP, XML_VALIDATOR)
    assert insert_converters(stages, CONVERTERS) == stages


def test_auto_convert_ignores_services_that_are_not_converters() -> None:
    lookalike = entry("my_json_to_xml", (JSON,), XML)
    stages = pipe(XML_TO_JSON, XML_VALIDATOR)
    assert insert_converters(stages, [lookalike]) == stages


def test_auto_convert_tries_accepted_types_in_listed_order() -> None:
    takes_csv_or_json = entry("report", ("text/csv", JSON), "text/plain")
    xml_to_csv_a = entry("xml_to_csv_a", (XML,), "text/csv", converter=True)
    xml_to_csv_b = entry("xml_to_csv_b", (XML,), "text/csv", converter=True)
    # text/csv has two converters, so the next accepted type, JSON, is used.
    stages = insert_converters(
        pipe(JSON_TO_XML, takes_csv_or_json), [*CONVERTERS, xml_to_csv_a, xml_to_csv_b]
    )
    assert stages[1].service == XML_TO_JSON
    # with one text/csv converter, text/csv comes first.
    stages = insert_converters(pipe(JSON_TO_XML, takes_csv_or_json), [*CONVERTERS, xml_to_csv_a])
    assert stages[1].service == xml_to_csv_a
    assert stages[1].descriptor == "application/xml -> text/csv"


def test_auto_convert_follows_a_wildcard_only_to_a_unique_converter() -> None:
    takes_text = entry("text_sink", ("text/*",), "same")
    xml_to_csv = entry("xml_to_csv", (XML,), "text/csv", converter=True)
    stages = insert_converters(pipe(JSON_TO_XML, takes_text), [*CONVERTERS, xml_to_csv])
    assert stages[1].descriptor == "application/xml -> text/csv"
    xml_to_text = entry("xml_to_text", (XML,), "text/plain", converter=True)
    stages = pipe(JSON_TO_XML, takes_text)
    assert insert_converters(stages, [xml_to_csv, xml_to_text]) == stages


def test_auto_convert_continues_after_an_inserted_converter() -> None:
    stages = insert_converters(
        pipe(XML_TO_JSON, XML_VALIDATOR, LOGGER, XML_TO_JSON, XML_VALIDATOR), CONVERTERS
    )
    assert [s.inserted for s in stages] == [False, True, False, False, False, True, False]
    assert check(stages, XML) == XML
