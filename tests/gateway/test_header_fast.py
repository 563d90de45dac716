"""The header's two readers give one result: `parse_canonical`'s fast pass for the common
shape, and `parse` + `canonical` for everything (gateway/header.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import header
from igwcore.descriptor import canonical
from igwcore.problems import Problem
from tests.gateway.test_header_properties import headers

SEED = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


def slow(value: str, max_stages: int = 32, max_args: int = 32) -> object:
    try:
        descriptors = header.parse(value, max_stages=max_stages, max_args=max_args)
    except Problem as problem:
        return (type(problem), problem.members)
    return descriptors, canonical(descriptors)


def both(value: str, max_stages: int = 32, max_args: int = 32) -> tuple[object, object]:
    try:
        fast: object = header.parse_canonical(value, max_stages=max_stages, max_args=max_args)
    except Problem as problem:
        fast = (type(problem), problem.members)
    return fast, slow(value, max_stages, max_args)


def test_the_seed_header_takes_the_fast_pass_and_agrees():
    assert header._parse_fast(SEED, 32, 32) is not None
    fast, expected = both(SEED)
    assert fast == expected


@pytest.mark.parametrize(
    "value",
    [
        "a", " a ", "a |", "J| ", "a |  ", "| a", "a||b", "a()", "a( )", "a(x=1,)", "a(x=1, y=2)",
        "a(y=2,x=1)", "a(x=1,x=2)", "a@1.0(x=1)", "json->xml", "JSON  ->  Xml",
        "text/plain;charset=utf-8 -> JSON", "a(b=c->d)", "a->b", "", " ", "a -", "a(x=-1)",
        "wsdl:x.com/a#B.C.D", "wsdl:x.com/a#B.C", "wsdl:x.com:99999/a#B", "WSDL:h/p#Op",
        "a(x=1) b", "a.b.c@2+x(k=v)", "a(k=v)|b(k=w)", "a(x=é)", "a\t|b", 'a(x="1")',
    ],
)  # fmt: skip
def test_the_two_readers_agree(value):
    fast, expected = both(value)
    assert fast == expected


def test_the_limits_are_kept_on_the_fast_pass():
    assert both("a | b | c", max_stages=2)[0] == both("a | b | c", max_stages=2)[1]
    assert both("a(x=1, y=2, z=3)", max_args=2)[0] == slow("a(x=1, y=2, z=3)", max_args=2)


@given(headers())
def test_headers_built_from_the_grammar_read_the_same_both_ways(built):
    value, _ = built
    fast, expected = both(value)
    assert fast == expected


@settings(max_examples=500)
@given(st.text(alphabet=" |()=,->@.;:/#*aZ_9wsdlJSON+", max_size=40))
def test_grammar_like_text_reads_the_same_both_ways(value):
    fast, expected = both(value)
    assert fast == expected
