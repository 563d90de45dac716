from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assembler.arguments import bind, coerce
from igwcore.problems import InvalidParameter
from repository.entry import ServiceEntry


def entry(**params: dict[str, Any]) -> ServiceEntry:
    return ServiceEntry(name="svc", kind="python", target={"callable": "m:f"}, params=params)


def bound(schema: dict[str, Any], value: str) -> Any:
    return bind(entry(p=schema), {"p": value}, stage=0)["p"]


def refusal(schema: dict[str, Any], value: str) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        bind(entry(p=schema), {"p": value}, stage=3)
    return caught.value


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("-3", -3), ("2.0", 2), ("1e3", 1000)])
def test_integer_takes_integral_numbers(value: str, expected: int) -> None:
    result = bound({"type": "integer"}, value)
    assert result == expected
    assert type(result) is int


def test_integer_refuses_a_fraction() -> None:
    problem = refusal({"type": "integer"}, "2.5")
    assert problem.members["parameter"] == "p"
    assert problem.members["stage"] == 3
    assert problem.members["reason"] == "'2.5' is not of type 'integer'"


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("2.5", 2.5), ("-1e-2", -0.01)])
def test_number_takes_json_numbers(value: str, expected: float) -> None:
    assert bound({"type": "number"}, value) == expected


@pytest.mark.parametrize("value", ["0x10", "1_000", "inf", "NaN", " 2", "+2", "01", "1e999"])
def test_number_refuses_what_json_does_not_call_a_number(value: str) -> None:
    assert refusal({"type": "number"}, value).members["parameter"] == "p"


def test_huge_integer_is_refused_not_built() -> None:
    refusal({"type": "integer"}, "1e999999999")
    refusal({"type": "integer"}, "9" * 5000)


def test_boolean_takes_true_and_false_only() -> None:
    assert bound({"type": "boolean"}, "true") is True
    assert bound({"type": "boolean"}, "false") is False
    refusal({"type": "boolean"}, "True")
    refusal({"type": "boolean"}, "1")


def test_null_takes_null() -> None:
    assert bound({"type": "null"}, "null") is None
    refusal({"type": "null"}, "")


def test_object_and_array_parse_the_value_as_json() -> None:
    assert bound({"type": "object"}, '{"a": [1, 2]}') == {"a": [1, 2]}
    assert bound({"type": "array"}, "[1, 2]") == [1, 2]
    refusal({"type": "object"}, "[1, 2]")
    refusal({"type": "array"}, "{")
    refusal({"type": "array"}, "[NaN]")


def test_string_is_kept_as_written() -> None:
    assert bound({"type": "string"}, "2") == "2"
    assert bound({"type": "string"}, " a b ") == " a b "


def test_no_type_keeps_the_string() -> None:
    assert bound({"enum": ["1", "2"]}, "2") == "2"
    assert coerce("true", {}) == "true"


def test_union_type_coerced_in_order() -> None:
    assert bound({"type": ["integer", "string"]}, "2") == 2
    assert bound({"type": ["integer", "string"]}, "two") == "two"
    assert bound({"type": ["string", "integer"]}, "2") == "2"
    assert bound({"type": ["string", "null"], "default": None}, "null") == "null"
    assert bound({"type": ["null", "string"]}, "null") is None
    assert bound({"type": ["boolean", "number"]}, "1.5") == 1.5


def test_union_that_takes_nothing_reports_every_type() -> None:
    reason = refusal({"type": ["integer", "null"]}, "x").members["reason"]
    assert reason == "'x' is not of type 'integer', 'null'"


def test_schema_failure_names_the_parameter_with_jsonschema_message() -> None:
    schema = {"type": "string", "enum": ["DEBUG", "INFO"], "default": "INFO"}
    problem = refusal(schema, "LOUD")
    assert problem.status == 422
    assert problem.members == {
        "stage": 3,
        "parameter": "p",
        "reason": "'LOUD' is not one of ['DEBUG', 'INFO']",
    }
    assert "'p'" in problem.detail


def test_gateway_placement_keywords_do_not_affect_validation() -> None:
    schema = {"type": "integer", "minimum": 1, "in": "header", "wire_name": "X-Count"}
    assert bound(schema, "3") == 3
    assert "less than the minimum" in refusal(schema, "0").members["reason"]


def test_defaults_fill_the_parameters_not_given() -> None:
    svc = entry(
        level={"type": "string", "default": "INFO"},
        file={"type": ["string", "null"], "default": None},
        depth={"type": "integer", "default": 3},
        required={"type": "string"},
    )
    assert bind(svc, {"depth": "5"}, stage=0) == {"level": "INFO", "file": None, "depth": 5}


def test_defaults_are_copies() -> None:
    default = {"a": [1]}
    svc = entry(opts={"type": "object", "default": default})
    args = bind(svc, {}, stage=0)
    args["opts"]["a"].append(2)
    assert default == {"a": [1]}
    assert bind(svc, {}, stage=0) == {"opts": {"a": [1]}}


@given(st.integers())
def test_any_integer_written_out_coerces_back(n: int) -> None:
    assert coerce(str(n), {"type": "integer"}) == n


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_number_written_out_coerces_back(x: float) -> None:
    assert coerce(repr(x), {"type": "number"}) == x


@given(st.text())
def test_string_type_never_changes_a_value(value: str) -> None:
    assert coerce(value, {"type": "string"}) == value
