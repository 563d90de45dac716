"""Type-checking a plan for a request type (SPEC §2), and what a pipe accepts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appserver.plan import accepted_inputs, check, intersect
from igwcore import mediatype
from igwcore.problems import TypeMismatch, UnsupportedInput
from repository.entry import ServiceEntry
from tests.pipes import (
    CSV_ONLY,
    HTTP,
    JSON,
    JSON_TO_XML,
    LOGGER,
    VALIDATOR,
    XML,
    XML_TO_JSON,
    XML_VALIDATOR,
    entry,
    pipe,
)

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
