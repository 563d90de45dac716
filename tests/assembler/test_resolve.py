from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from appserver.plan import Plan
from assembler.assemble import build_plan
from assembler.resolve import resolve, same_version, version_key
from igwcore.descriptor import ByContract, ByIO, ByName, Descriptor
from igwcore.problems import (
    AmbiguousService,
    ArgumentError,
    InvalidParameter,
    ServiceNotFound,
    TypeMismatch,
    UnsupportedInput,
)
from repository.entry import ServiceEntry


class MemoryEntries:
    """A repository reduced to what resolution asks of it."""

    def __init__(self, *entries: ServiceEntry, contracts: Mapping[tuple[str, str], Any] = {}):
        self.entries = entries
        self.contracts = contracts

    def by_name(self, name: str) -> Sequence[ServiceEntry]:
        return [e for e in self.entries if e.name == name and e.enabled]

    def converters(self) -> Sequence[ServiceEntry]:
        return [e for e in self.entries if e.converter and e.enabled]

    def by_contract(self, url: str, operation: str) -> Sequence[ServiceEntry]:
        found = self.contracts.get((url, operation), [])
        if isinstance(found, LookupError):
            raise found
        return found


def entry(name: str, version: str = "1.0.0", **fields: Any) -> ServiceEntry:
    fields.setdefault("kind", "python")
    fields.setdefault("target", {"callable": "m:f"})
    return ServiceEntry(name=name, version=version, **fields)


def one(entries: MemoryEntries, descriptor: Descriptor, **kw: Any) -> Any:
    (stage,) = resolve([descriptor], entries, **kw)
    return stage


def refused(entries: MemoryEntries, *descriptors: Descriptor, **kw: Any) -> Any:
    with pytest.raises((ServiceNotFound, AmbiguousService, InvalidParameter)) as caught:
        resolve(descriptors, entries, **kw)
    return caught.value


OPTIONAL = {"type": "string", "default": "d"}
REQUIRED = {"type": "string"}
JSON_TO_XML = entry(
    "json_to_xml",
    input=("application/json",),
    output="application/xml",
    converter=True,
    params={"root": {"type": "string", "default": "root"}},
)
XML_TO_JSON = entry("xml_to_json", input=("application/xml",), output="JSON", converter=True)


# -- by name ------------------------------------------------------------------------------


def test_unique_name_resolves_with_its_canonical_descriptor() -> None:
    logger = entry("logger", params={"level": {"type": "string", "default": "INFO"}})
    stage = one(MemoryEntries(logger), ByName("logger", args=(("level", "DEBUG"),)))
    assert stage.service == logger
    assert stage.descriptor == "logger(level=DEBUG)"
    assert stage.args == {"level": "DEBUG"}
    assert not stage.inserted


def test_ambiguous_name_lists_candidates() -> None:
    # SPEC conformance: overloads x 1.0.0 (x=) and 1.1.0 (y=), bare name.
    entries = MemoryEntries(
        entry("x", "1.0.0", params={"x": OPTIONAL}),
        entry("x", "1.1.0", params={"y": OPTIONAL}),
    )
    problem = refused(entries, ByName("x"))
    assert isinstance(problem, AmbiguousService)
    assert problem.status == 409
    assert problem.members["stage"] == 0
    assert problem.members["descriptor"] == "x"
    assert problem.members["candidates"] == [
        {
            "id": "x@1.0.0",
            "name": "x",
            "version": "1.0.0",
            "params": ["x"],
            "input": ["*/*"],
            "output": "same",
        },
        {
            "id": "x@1.1.0",
            "name": "x",
            "version": "1.1.0",
            "params": ["y"],
            "input": ["*/*"],
            "output": "same",
        },
    ]


def test_argument_picks_the_overload_that_takes_it() -> None:
    entries = MemoryEntries(
        entry("x", "1.0.0", params={"x": OPTIONAL}),
        entry("x", "1.1.0", params={"y": {"type": "integer", "default": 0}}),
    )
    stage = one(entries, ByName("x", args=(("y", "2"),)))
    assert stage.service.id == "x@1.1.0"
    assert stage.args == {"y": 2}


def test_newest_version_of_a_signature_wins() -> None:
    entries = MemoryEntries(
        entry("svc", "1.2.0", params={"a": OPTIONAL}),
        entry("svc", "1.10.0", params={"a": OPTIONAL}),
        entry("svc", "1.9.0", params={"a": OPTIONAL}),
    )
    assert one(entries, ByName("svc")).service.version == "1.10.0"


def test_ambiguity_lists_the_newest_of_each_signature() -> None:
    entries = MemoryEntries(
        entry("svc", "1.0.0", params={"a": OPTIONAL}),
        entry("svc", "2.0.0", params={"a": OPTIONAL}),
        entry("svc", "1.0.0", id="svc-b@1", params={"b": OPTIONAL}),
    )
    problem = refused(entries, ByName("svc"))
    assert [c["id"] for c in problem.members["candidates"]] == ["svc-b@1", "svc@2.0.0"]


def test_at_1_0_pins_1_0_0() -> None:
    entries = MemoryEntries(entry("svc", "1.0.0"), entry("svc", "1.1.0"))
    assert one(entries, ByName("svc", "1.0")).service.version == "1.0.0"


def test_pinned_version_that_does_not_exist_says_which_do() -> None:
    entries = MemoryEntries(entry("svc", "1.0.0"), entry("svc", "1.1.0"))
    problem = refused(entries, ByName("svc", "2"))
    assert isinstance(problem, ServiceNotFound)
    assert problem.members == {"stage": 0, "descriptor": "svc@2"}
    assert "1.1.0, 1.0.0" in problem.detail


def test_non_pep440_version_matches_only_by_exact_string() -> None:
    entries = MemoryEntries(
        entry("svc", "nightly-7"), entry("svc", "1.0.0", params={"a": OPTIONAL})
    )
    assert one(entries, ByName("svc", "nightly-7")).service.version == "nightly-7"
    assert isinstance(refused(entries, ByName("svc", "Nightly-7")), ServiceNotFound)


def test_non_pep440_versions_sort_below_pep440_and_by_string() -> None:
    assert version_key("0.0.1") > version_key("zzz")
    assert version_key("b-2") > version_key("a-9")
    entries = MemoryEntries(entry("svc", "latest"), entry("svc", "0.1"), entry("svc", "dev"))
    assert one(entries, ByName("svc")).service.version == "0.1"


def test_version_equality_is_pep440() -> None:
    assert same_version("1.0.0", "1.0")
    assert same_version("1.0.0", "v1.0.0")
    assert not same_version("1.0.0", "1.0.0.post1")
    assert not same_version("1.0.0", "1.0.0-x.y")


def test_missing_default_does_not_match() -> None:
    entries = MemoryEntries(entry("svc", params={"a": REQUIRED, "b": OPTIONAL}))
    problem = refused(entries, ByName("svc", args=(("b", "1"),)))
    assert isinstance(problem, ServiceNotFound)
    assert problem.members == {"stage": 0, "descriptor": "svc(b=1)"}
    assert "svc@1.0.0 takes a, b and needs a" in problem.detail
    assert one(entries, ByName("svc", args=(("a", "1"),))).args == {"a": "1", "b": "d"}


def test_unknown_argument_does_not_match_and_detail_names_the_parameters() -> None:
    entries = MemoryEntries(entry("logger", params={"level": OPTIONAL, "file": OPTIONAL}))
    problem = refused(entries, ByName("logger", args=(("colour", "red"),)))
    assert isinstance(problem, ServiceNotFound)
    assert "(colour)" in problem.detail
    assert "logger@1.0.0 takes file, level" in problem.detail


def test_unknown_name_is_404_with_stage_and_descriptor() -> None:
    problem = refused(MemoryEntries(entry("logger")), ByName("logger"), ByName("nope"))
    assert isinstance(problem, ServiceNotFound)
    assert problem.status == 404
    assert problem.members == {"stage": 1, "descriptor": "nope"}
    assert problem.detail == "no service is called 'nope'"


def test_disabled_entries_are_invisible() -> None:
    entries = MemoryEntries(entry("svc", enabled=False))
    problem = refused(entries, ByName("svc"))
    assert problem.detail == "no service is called 'svc'"


def test_disabled_newer_version_leaves_the_older_one() -> None:
    entries = MemoryEntries(entry("svc", "1.0.0"), entry("svc", "2.0.0", enabled=False))
    assert one(entries, ByName("svc")).service.version == "1.0.0"


def test_entry_listed_twice_is_not_ambiguous() -> None:
    svc = entry("svc")
    assert one(MemoryEntries(svc, svc), ByName("svc")).service == svc


def test_equal_versions_of_one_signature_stay_ambiguous() -> None:
    entries = MemoryEntries(entry("svc", "1.0"), entry("svc", "1.0.0"))
    problem = refused(entries, ByName("svc"))
    assert isinstance(problem, AmbiguousService)
    assert len(problem.members["candidates"]) == 2


def test_errors_stop_at_the_first_failing_stage() -> None:
    entries = MemoryEntries(
        entry("ok"),
        entry("amb", "1", params={"a": OPTIONAL}),
        entry("amb", "2", params={"b": OPTIONAL}),
        entry("num", params={"n": {"type": "integer"}}),
    )
    problem = refused(entries, ByName("ok"), ByName("num", args=(("n", "x"),)), ByName("amb"))
    assert isinstance(problem, InvalidParameter)
    assert problem.members["stage"] == 1
    problem = refused(entries, ByName("ok"), ByName("amb"), ByName("missing"))
    assert isinstance(problem, AmbiguousService)
    assert problem.members["stage"] == 1


def test_invalid_argument_is_422_naming_the_parameter() -> None:
    levels = {"type": "string", "enum": ["DEBUG", "INFO"], "default": "INFO"}
    entries = MemoryEntries(entry("logger", params={"level": levels}))
    problem = refused(entries, ByName("logger", args=(("level", "LOUD"),)))
    assert isinstance(problem, InvalidParameter)
    assert problem.members == {
        "stage": 0,
        "parameter": "level",
        "reason": "'LOUD' is not one of ['DEBUG', 'INFO']",
    }


def test_kind_check_is_invalid_parameter() -> None:
    entries = MemoryEntries(entry("logger", params={"file": OPTIONAL}))
    seen = []

    def check_args(e: ServiceEntry, args: Mapping[str, Any]) -> None:
        seen.append((e.name, dict(args)))
        if args["file"].startswith(".."):
            raise ArgumentError("file", "leaves the log folder")

    stage = one(entries, ByName("logger"), check_args=check_args)
    assert stage.args == {"file": "d"}
    problem = refused(entries, ByName("logger", args=(("file", "../x"),)), check_args=check_args)
    assert isinstance(problem, InvalidParameter)
    assert problem.members == {"stage": 0, "parameter": "file", "reason": "leaves the log folder"}
    assert seen == [("logger", {"file": "d"}), ("logger", {"file": "../x"})]


# -- by IO type ---------------------------------------------------------------------------


def test_io_resolves_to_the_converter() -> None:
    stage = one(
        MemoryEntries(JSON_TO_XML, XML_TO_JSON), ByIO("application/json", "application/xml")
    )
    assert stage.service == JSON_TO_XML
    assert stage.descriptor == "application/json -> application/xml"
    assert stage.args == {"root": "root"}


def test_other_services_never_make_io_ambiguous() -> None:
    lookalike = entry("my_json_to_xml", input=("application/json",), output="application/xml")
    entries = MemoryEntries(JSON_TO_XML, lookalike)
    assert one(entries, ByIO("application/json", "application/xml")).service == JSON_TO_XML


def test_io_with_no_converter_is_404() -> None:
    problem = refused(MemoryEntries(JSON_TO_XML), ByIO("text/csv", "application/xml"))
    assert isinstance(problem, ServiceNotFound)
    assert problem.members == {"stage": 0, "descriptor": "text/csv -> application/xml"}


def test_two_converters_for_one_io_are_ambiguous() -> None:
    other = entry(
        "fast_json_to_xml", input=("*/*",), output="text/xml", converter=True, version="3"
    )
    problem = refused(MemoryEntries(JSON_TO_XML, other), ByIO("application/json", "text/xml"))
    assert isinstance(problem, AmbiguousService)
    assert [c["id"] for c in problem.members["candidates"]] == [
        "fast_json_to_xml@3",
        "json_to_xml@1.0.0",
    ]


def test_new_converter_version_keeps_io_unambiguous() -> None:
    newer = entry(
        "json_to_xml",
        "1.1.0",
        input=("application/json",),
        output="application/xml",
        converter=True,
        params={"root": {"type": "string", "default": "root"}},
    )
    stage = one(MemoryEntries(JSON_TO_XML, newer), ByIO("application/json", "application/xml"))
    assert stage.service == newer


def test_converter_input_pattern_accepts_the_source() -> None:
    csv_to_json = entry("csv_to_json", input=("text/*",), output="application/json", converter=True)
    stage = one(MemoryEntries(csv_to_json), ByIO("text/csv", "application/json"))
    assert stage.service == csv_to_json


def test_converter_that_needs_an_argument_does_not_match_io() -> None:
    needy = entry(
        "json_to_xml",
        input=("application/json",),
        output="application/xml",
        converter=True,
        params={"root": REQUIRED},
    )
    problem = refused(MemoryEntries(needy), ByIO("application/json", "application/xml"))
    assert isinstance(problem, ServiceNotFound)
    assert "json_to_xml@1.0.0 only with some" in problem.detail


# -- by contract --------------------------------------------------------------------------

URL = "http://www.cloud.com/formatter"


def test_contract_resolves_to_the_soap_entry() -> None:
    op = entry("formatter.XMLCheck", kind="soap", params={"text": {"default": None}})
    entries = MemoryEntries(contracts={(URL, "XMLCheck"): [op]})
    stage = one(entries, ByContract(URL, "XMLCheck"))
    assert stage.service == op
    assert stage.descriptor == f"wsdl:{URL}#XMLCheck"
    assert stage.args == {"text": None}


def test_contract_with_no_operation_is_404_with_reason() -> None:
    problem = refused(MemoryEntries(), ByContract(URL, "XMLCheck"))
    assert isinstance(problem, ServiceNotFound)
    assert problem.members["descriptor"] == f"wsdl:{URL}#XMLCheck"
    assert "XMLCheck" in problem.members["reason"]


def test_contract_lookup_error_becomes_the_reason() -> None:
    entries = MemoryEntries(
        contracts={(URL, "Op"): LookupError("www.cloud.com is not in fetch_wsdl_hosts")}
    )
    problem = refused(entries, ByContract(URL, "Op"))
    assert isinstance(problem, ServiceNotFound)
    assert problem.members["reason"] == "www.cloud.com is not in fetch_wsdl_hosts"


def test_operation_of_several_services_is_ambiguous_until_qualified() -> None:
    a = entry("a.Op", kind="soap")
    b = entry("b.Op", kind="soap")
    problem = refused(MemoryEntries(contracts={(URL, "Op"): [a, b]}), ByContract(URL, "Op"))
    assert isinstance(problem, AmbiguousService)
    assert "Service.Port.Op" in problem.detail


# -- build_plan ---------------------------------------------------------------------------

PLAN_ENTRIES = MemoryEntries(
    entry("logger", params={"level": {"type": "string", "default": "INFO"}}),
    entry("xml_validator", input=("application/xml",)),
    JSON_TO_XML,
    XML_TO_JSON,
)


def plan(
    *descriptors: Descriptor, auto_convert: bool = False, content_type: str | None = None
) -> Plan:
    return build_plan(
        descriptors,
        "canonical",
        "key",
        PLAN_ENTRIES,
        auto_convert=auto_convert,
        content_type=content_type,
    )


def test_plan_lists_stages_accepted_inputs_and_output() -> None:
    built = plan(ByName("logger"), ByIO("application/json", "application/xml"), ByName("logger"))
    assert built.to_json() == {
        "canonical": "canonical",
        "key": "key",
        "input": ["application/json"],
        "output": "application/xml",
        "stages": [
            {"descriptor": "logger", "service": "logger@1.0.0", "input": ["*/*"], "output": "same"},
            {
                "descriptor": "application/json -> application/xml",
                "service": "json_to_xml@1.0.0",
                "input": ["application/json"],
                "output": "application/xml",
            },
            {"descriptor": "logger", "service": "logger@1.0.0", "input": ["*/*"], "output": "same"},
        ],
    }


def test_plan_output_is_same_until_the_request_type_is_known() -> None:
    assert plan(ByName("logger"), ByName("xml_validator")).output == "same"
    assert plan(ByName("logger"), content_type="text/xml").output == "application/xml"


def test_plan_checks_the_request_type_when_given() -> None:
    with pytest.raises(UnsupportedInput):
        plan(ByName("logger"), ByName("xml_validator"), content_type="application/json")


def test_resolution_errors_come_before_type_errors() -> None:
    with pytest.raises(ServiceNotFound):
        plan(ByName("json_to_xml"), ByName("json_to_xml"), ByName("nope"))


def test_auto_convert_puts_the_converter_in_the_plan() -> None:
    descriptors = (ByName("xml_to_json"), ByName("xml_validator"))
    with pytest.raises(TypeMismatch):
        plan(*descriptors)
    built = plan(*descriptors, auto_convert=True)
    assert [s.descriptor for s in built.stages] == [
        "xml_to_json",
        "application/json -> application/xml",
        "xml_validator",
    ]
    assert built.stages[1].to_json()["inserted"] is True
    assert built.output == "application/xml"
