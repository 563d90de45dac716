from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assembler.plan import PlannedStage
from assembler.typecheck import accepted_inputs, check, insert_converters, intersect
from gateway import mediatype
from gateway.descriptor import ByIO, Descriptor
from gateway.problems import TypeMismatch, UnsupportedInput
from repository.entry import ServiceEntry


def entry(name: str, input: tuple[str, ...], output: str, **fields: Any) -> ServiceEntry:
    fields.setdefault("kind", "python")
    fields.setdefault("target", {"callable": "m:f"})
    return ServiceEntry(name=name, input=input, output=output, **fields)


def stage(service: ServiceEntry) -> PlannedStage:
    return PlannedStage(descriptor=service.name, service=service)


def pipe(*services: ServiceEntry) -> tuple[PlannedStage, ...]:
    return tuple(stage(s) for s in services)


def describe(d: Descriptor) -> str:
    assert isinstance(d, ByIO)
    return f"{d.source} -> {d.target}"


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


# -- check --------------------------------------------------------------------------------


def test_json_to_xml_twice_is_a_type_mismatch_at_stage_1() -> None:
    # SPEC conformance: `json_to_xml | json_to_xml` with JSON input is 422.
    with pytest.raises(TypeMismatch) as caught:
        check(pipe(JSON_TO_XML, JSON_TO_XML), JSON)
    assert caught.value.status == 422
    assert caught.value.members == {"stage": 1, "produces": XML, "expects": [JSON]}


def test_xml_to_json_refuses_text_plain_as_unsupported_input() -> None:
    # SPEC conformance: `xml_to_json` with text/plain is 415.
    with pytest.raises(UnsupportedInput) as caught:
        check(pipe(XML_TO_JSON), "text/plain")
    assert caught.value.status == 415
    assert caught.value.members == {"stage": 0, "accepts": [XML]}


def test_request_type_refused_by_first_stage_is_415() -> None:
    with pytest.raises(UnsupportedInput) as caught:
        check(pipe(JSON_TO_XML, LOGGER), XML)
    assert caught.value.members["stage"] == 0


def test_same_chain_then_refusal_is_415() -> None:
    with pytest.raises(UnsupportedInput) as caught:
        check(pipe(LOGGER, VALIDATOR, XML_VALIDATOR), JSON)
    assert caught.value.members == {"stage": 2, "accepts": [XML]}


def test_converter_output_refused_is_422() -> None:
    with pytest.raises(TypeMismatch) as caught:
        check(pipe(LOGGER, JSON_TO_XML, LOGGER, CSV_ONLY), JSON)
    assert caught.value.members == {"stage": 3, "produces": XML, "expects": ["text/csv"]}


def test_http_any_output_passes_check() -> None:
    assert check(pipe(JSON_TO_XML, HTTP, LOGGER, XML_TO_JSON), JSON) == JSON
    assert check(pipe(JSON_TO_XML, HTTP, LOGGER), JSON) == "*/*"
    assert check(pipe(HTTP, CSV_ONLY), None) == "text/plain"


def test_output_is_the_request_type_through_same_stages() -> None:
    assert check(pipe(LOGGER, VALIDATOR), "text/csv; charset=utf-8") == "text/csv"
    assert check(pipe(LOGGER, JSON_TO_XML), "JSON") == XML


def test_text_xml_request_is_xml() -> None:
    assert check(pipe(XML_VALIDATOR, XML_TO_JSON), "text/xml") == JSON


def test_without_content_type_request_dependent_links_are_not_checked() -> None:
    assert check(pipe(LOGGER, XML_VALIDATOR), None) == "same"
    assert check(pipe(LOGGER, JSON_TO_XML), None) == XML


def test_without_content_type_known_links_are_checked() -> None:
    with pytest.raises(TypeMismatch) as caught:
        check(pipe(LOGGER, JSON_TO_XML, JSON_TO_XML), None)
    assert caught.value.members == {"stage": 2, "produces": XML, "expects": [JSON]}


# -- accepted_inputs ----------------------------------------------------------------------


def test_accepted_inputs_are_narrowed_by_what_same_stages_feed() -> None:
    assert accepted_inputs(pipe(LOGGER, VALIDATOR, JSON_TO_XML)) == (JSON,)


def test_accepted_inputs_stop_at_the_first_typed_output() -> None:
    assert accepted_inputs(pipe(LOGGER, XML_TO_JSON, CSV_ONLY)) == (XML,)
    assert accepted_inputs(pipe(LOGGER, HTTP, XML_VALIDATOR)) == ("*/*",)


def test_accepted_inputs_are_empty_when_no_type_gets_through() -> None:
    assert accepted_inputs(pipe(XML_VALIDATOR, JSON_TO_XML)) == ()


def test_intersect_keeps_the_narrower_pattern() -> None:
    assert intersect(["*/*"], ["application/*", "text/csv"]) == ("application/*", "text/csv")
    assert intersect(["application/*", "text/*"], ["application/json", "text/csv"]) == (
        JSON,
        "text/csv",
    )
    assert intersect(["application/*", JSON], ["*/*"]) == ("application/*",)
    assert intersect(["text/xml"], ["application/*"]) == (XML,)
    assert intersect(["text/*"], ["application/*"]) == ()


TYPES = ["*/*", "application/*", "text/*", JSON, XML, "text/csv", "text/plain"]
SERVICES = st.builds(
    lambda i, inputs, output: entry(f"s{i}", tuple(inputs), output),
    st.integers(0, 9),
    st.lists(st.sampled_from(TYPES), min_size=1, max_size=3),
    st.sampled_from(["same", "same", "*/*", JSON, XML, "text/csv"]),
)


@given(
    st.lists(SERVICES, min_size=1, max_size=5),
    st.sampled_from([JSON, XML, "text/csv", "text/plain", "image/png"]),
)
def test_pipe_takes_a_type_exactly_when_accepted_inputs_say_so(
    services: list[ServiceEntry], content_type: str
) -> None:
    stages = pipe(*services)
    try:
        check(stages, None)
    except TypeMismatch:
        return
    try:
        check(stages, content_type)
        passed = True
    except UnsupportedInput:
        passed = False
    assert passed == mediatype.accepts(accepted_inputs(stages), content_type)


# -- insert_converters --------------------------------------------------------------------


def test_auto_convert_inserts_unique_converter() -> None:
    stages = insert_converters(pipe(XML_TO_JSON, XML_VALIDATOR), CONVERTERS, describe)
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
    stages = insert_converters(pipe(XML_TO_JSON, XML_VALIDATOR), [with_root], describe)
    assert stages[1].args == {"root": "root"}


def test_auto_convert_leaves_the_link_when_several_converters_match() -> None:
    other = entry("fast_json_to_xml", (JSON,), XML, converter=True)
    stages = pipe(XML_TO_JSON, XML_VALIDATOR)
    assert insert_converters(stages, [*CONVERTERS, other], describe) == stages


def test_auto_convert_leaves_the_link_when_no_converter_matches() -> None:
    stages = pipe(JSON_TO_XML, CSV_ONLY)
    assert insert_converters(stages, CONVERTERS, describe) == stages
    with pytest.raises(TypeMismatch):
        check(stages, JSON)


def test_auto_convert_never_converts_links_that_depend_on_the_request_type() -> None:
    stages = pipe(LOGGER, XML_VALIDATOR)
    assert insert_converters(stages, CONVERTERS, describe) == stages


def test_auto_convert_leaves_any_output_alone() -> None:
    stages = pipe(HTTP, XML_VALIDATOR)
    assert insert_converters(stages, CONVERTERS, describe) == stages


def test_auto_convert_ignores_services_that_are_not_converters() -> None:
    lookalike = entry("my_json_to_xml", (JSON,), XML)
    stages = pipe(XML_TO_JSON, XML_VALIDATOR)
    assert insert_converters(stages, [lookalike], describe) == stages


def test_auto_convert_tries_accepted_types_in_listed_order() -> None:
    takes_csv_or_json = entry("report", ("text/csv", JSON), "text/plain")
    xml_to_csv_a = entry("xml_to_csv_a", (XML,), "text/csv", converter=True)
    xml_to_csv_b = entry("xml_to_csv_b", (XML,), "text/csv", converter=True)
    # text/csv has two converters, so the next accepted type, JSON, is used.
    stages = insert_converters(
        pipe(JSON_TO_XML, takes_csv_or_json), [*CONVERTERS, xml_to_csv_a, xml_to_csv_b], describe
    )
    assert stages[1].service == XML_TO_JSON
    # with one text/csv converter, text/csv comes first.
    stages = insert_converters(
        pipe(JSON_TO_XML, takes_csv_or_json), [*CONVERTERS, xml_to_csv_a], describe
    )
    assert stages[1].service == xml_to_csv_a
    assert stages[1].descriptor == "application/xml -> text/csv"


def test_auto_convert_follows_a_wildcard_only_to_a_unique_converter() -> None:
    takes_text = entry("text_sink", ("text/*",), "same")
    xml_to_csv = entry("xml_to_csv", (XML,), "text/csv", converter=True)
    stages = insert_converters(pipe(JSON_TO_XML, takes_text), [*CONVERTERS, xml_to_csv], describe)
    assert stages[1].descriptor == "application/xml -> text/csv"
    xml_to_text = entry("xml_to_text", (XML,), "text/plain", converter=True)
    stages = pipe(JSON_TO_XML, takes_text)
    assert insert_converters(stages, [xml_to_csv, xml_to_text], describe) == stages


def test_auto_convert_continues_after_an_inserted_converter() -> None:
    stages = insert_converters(
        pipe(XML_TO_JSON, XML_VALIDATOR, LOGGER, XML_TO_JSON, XML_VALIDATOR), CONVERTERS, describe
    )
    assert [s.inserted for s in stages] == [False, True, False, False, False, True, False]
    assert check(stages, XML) == XML
