"""Problems carry their extra members as typed attributes, written into the body in order."""

from __future__ import annotations

import pytest

from igwcore.problems import (
    ArgumentError,
    HeaderSyntax,
    ServiceNotFound,
    StageError,
    StageFailed,
    StageRejected,
)


def test_members_are_attributes_and_body_members_in_declared_order() -> None:
    problem = HeaderSyntax("bad", expected="a name", position=3)
    assert (problem.position, problem.expected) == (3, "a name")
    assert list(problem.body()) == ["type", "title", "status", "detail", "position", "expected"]
    assert problem.body()["type"] == "https://integration-gateway.dev/problems/syntax"


def test_an_optional_member_is_left_out_while_it_is_none() -> None:
    plain = ServiceNotFound("none", stage=0, descriptor="x")
    assert plain.reason is None and "reason" not in plain.body()
    why = ServiceNotFound("none", stage=0, descriptor="x", reason="not fetched")
    assert why.body()["reason"] == "not fetched"


def test_a_missing_or_unknown_member_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="needs the member 'expected'"):
        HeaderSyntax("bad", position=3)
    with pytest.raises(TypeError, match="has no member 'colour'"):
        HeaderSyntax("bad", position=3, expected="x", colour="red")


def test_a_stage_error_becomes_the_problem_of_its_stage() -> None:
    failed = StageError("SOAP fault Server: down", fault_code="Server", fault_string="down")
    problem = failed.problem(2, "shop.Order@1.0.0")
    assert isinstance(problem, StageFailed)
    assert problem.members == {
        "stage": 2,
        "service": "shop.Order@1.0.0",
        "reason": "SOAP fault Server: down",
        "fault_code": "Server",
        "fault_string": "down",
    }
    rejected = StageError("not JSON", rejected=True).problem(0, "validator@1.0.0")
    assert isinstance(rejected, StageRejected) and rejected.status == 422


def test_an_argument_error_becomes_invalid_parameter_of_its_stage() -> None:
    problem = ArgumentError("file", "leaves the log folder").problem(1, "logger@1.0.0")
    assert problem.members == {"stage": 1, "parameter": "file", "reason": "leaves the log folder"}
