"""`json_to_xml`'s two writers give one output: `_fast` for the common shapes, `_full`
for every shape (repository/jsonxml.py). Whatever `_fast` writes, `_full` writes too; what
`_fast` leaves (None, `_Unusual`) goes to `_full`, which refuses what must be refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repository import jsonxml
from repository.jsonxml import JsonXmlError, _fast, _full, _Unusual, json_to_xml, plain_json

KEYS = st.one_of(
    st.sampled_from(["a", "b", "item", "root", "x-y", "_z", "n.1", "é", "@id", "#text",
                     "@xmlns:p", "p:q", "1x", "a b", "", "xml:lang"]),
    st.text(min_size=1, max_size=5),
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["<&>", "a\rb", "\x00", "\ufffe", "tab\tok", "\ud800"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
ROOTS = st.sampled_from(["root", "item", "a", "doc"])


def full_or_error(value: object, root: str) -> bytes | str:
    try:
        return _full(value, root)
    except JsonXmlError as e:
        return f"error: {e.reason}"


def fast_or_none(value: object, root: str, xml_chars: bool) -> bytes | None:
    try:
        return _fast(value, root, xml_chars)
    except (_Unusual, RecursionError):
        return None


@given(VALUES, ROOTS)
def test_what_the_fast_writer_writes_the_full_one_writes(value, root):
    fast = fast_or_none(value, root, xml_chars=False)
    if fast is not None:
        assert fast == full_or_error(value, root)


@given(VALUES, ROOTS)
def test_json_to_xml_answers_as_the_full_writer(value, root):
    try:
        answer: bytes | str = json_to_xml(value, root)
    except JsonXmlError as e:
        answer = f"error: {e.reason}"
    assert answer == full_or_error(value, root)


@given(VALUES, ROOTS)
def test_text_that_plain_json_vouches_for_needs_no_character_check(value, root):
    text = json.dumps(value).encode()
    if not plain_json(text):
        return
    parsed = json.loads(text)
    fast = fast_or_none(parsed, root, xml_chars=True)
    if fast is not None:
        assert fast == full_or_error(parsed, root)


@pytest.mark.parametrize(
    "value",
    [
        {"order": {"id": "1", "lines": [{"sku": "a"}, {"sku": "b"}], "note": None}},
        {"a": []},
        {"a": {"b": []}},
        [1, [2, 3], {"x": True}],
        {"a": 1, "b": 2.5},
        {"a": "<&>\r"},
    ],
)
def test_common_shapes_take_the_fast_writer(value):
    assert fast_or_none(value, "root", xml_chars=False) is not None
    assert json_to_xml(value) == _full(value, "root")


@pytest.mark.parametrize(
    "value",
    [{"a": {"@id": "1"}}, {"a": {"#text": "x"}}, {"p:a": {"@xmlns:p": "urn:p"}}, {"a": "\x01"}],
)
def test_other_shapes_go_to_the_full_writer(value):
    assert fast_or_none(value, "root", xml_chars=False) is None


def test_a_refusal_still_names_its_path():
    with pytest.raises(JsonXmlError, match=r"\$\.a\.b: character U\+0001"):
        json_to_xml({"a": {"b": "\x01"}})
    assert jsonxml.plain_json(b'{"a": "b"}') and not jsonxml.plain_json(b'{"a": "\\u0001"}')
