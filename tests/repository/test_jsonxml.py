import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from repository.jsonxml import JsonXmlError, json_to_xml, xml_to_json
from repository.xmlsafe import XmlRefused


def test_single_key_object_becomes_the_root_element():
    xml = json_to_xml({"invoice": {"no": "12", "total": 3.5}})
    assert xml == b"<invoice><no>12</no><total>3.5</total></invoice>"


def test_anything_else_goes_under_the_wrapper():
    assert json_to_xml({"a": "1", "b": "2"}) == b"<root><a>1</a><b>2</b></root>"
    assert json_to_xml("hi") == b"<root>hi</root>"
    assert json_to_xml({"a": "1", "b": "2"}, root="doc") == b"<doc><a>1</a><b>2</b></doc>"


def test_list_becomes_repeated_elements():
    xml = json_to_xml({"order": {"line": ["a", "b"]}})
    assert xml == b"<order><line>a</line><line>b</line></order>"


def test_single_key_holding_a_list_is_wrapped_and_comes_back():
    value = {"line": ["a", "b"]}
    assert json_to_xml(value) == b"<root><line>a</line><line>b</line></root>"
    assert xml_to_json(json_to_xml(value)) == value


def test_key_named_like_the_wrapper_round_trips():
    assert xml_to_json(json_to_xml({"root": "x"})) == {"root": "x"}


def test_scalars_are_written_as_json_text_and_null_as_an_empty_element():
    xml = json_to_xml({"r": {"t": True, "f": False, "n": None, "i": 7, "e": ""}})
    assert xml == b"<r><t>true</t><f>false</f><n/><i>7</i><e/></r>"
    assert xml_to_json(xml) == {"r": {"t": "true", "f": "false", "n": "", "i": "7", "e": ""}}


def test_at_keys_are_attributes_and_hash_text_is_text():
    xml = json_to_xml({"item": {"@sku": "A-1", "@qty": 2, "#text": "Widget"}})
    assert etree.fromstring(xml).attrib == {"sku": "A-1", "qty": "2"}
    assert xml_to_json(xml) == {"item": {"@sku": "A-1", "@qty": "2", "#text": "Widget"}}


def test_special_characters_are_escaped_and_survive():
    value = {"a": {"@q": 'x"<&>\n\t\r', "b": "1 < 2 & ]]> \r\n"}}
    assert xml_to_json(json_to_xml(value)) == value


def test_nested_lists_become_item_elements():
    assert json_to_xml({"m": [[1, 2], [3]]}) == (
        b"<root><m><item>1</item><item>2</item></m><m><item>3</item></m></root>"
    )


def test_empty_list_writes_nothing():
    assert json_to_xml({"r": {"a": [], "b": "1"}}) == b"<r><b>1</b></r>"


@pytest.mark.parametrize("key", ["1abc", "a b", "", "a/b", "@", "#comment", "x:y:z"])
def test_keys_that_are_not_xml_names_are_refused(key):
    with pytest.raises(JsonXmlError, match="not an XML name"):
        json_to_xml({"r": {key: "v"}})


def test_undeclared_namespace_prefix_is_refused():
    with pytest.raises(JsonXmlError, match="prefix 'p' is not declared"):
        json_to_xml({"p:r": "v"})


def test_characters_xml_cannot_carry_are_refused():
    with pytest.raises(JsonXmlError, match="U\\+0001"):
        json_to_xml({"r": "a\x01b"})


def test_attribute_with_an_object_value_is_refused():
    with pytest.raises(JsonXmlError, match=r"\$\.r\.@a"):
        json_to_xml({"r": {"@a": {"x": 1}}})


def test_root_param_must_be_an_xml_name():
    with pytest.raises(JsonXmlError, match="root element name"):
        json_to_xml([1], root="no good")


def test_namespaces_keep_their_prefixes_and_declarations():
    xml = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><m:Add xmlns:m="urn:calc" m:unit="kg"><a>1</a></m:Add></soap:Body>'
        b"</soap:Envelope>"
    )
    value = xml_to_json(xml)
    assert value == {
        "soap:Envelope": {
            "@xmlns:soap": "http://schemas.xmlsoap.org/soap/envelope/",
            "soap:Body": {"m:Add": {"@xmlns:m": "urn:calc", "@m:unit": "kg", "a": "1"}},
        }
    }
    assert json_to_xml(value) == xml


def test_default_namespace_is_an_xmlns_key():
    value = xml_to_json(b'<r xmlns="urn:x"><a>1</a></r>')
    assert value == {"r": {"@xmlns": "urn:x", "a": "1"}}
    assert etree.fromstring(json_to_xml(value)).tag == "{urn:x}r"


def test_indentation_is_ignored_and_mixed_text_kept():
    assert xml_to_json(b"<r>\n  <a>1</a>\n  <a>2</a>\n</r>") == {"r": {"a": ["1", "2"]}}
    assert xml_to_json(b"<p>Hello <b>you</b>!</p>") == {"p": {"b": "you", "#text": "Hello !"}}


def test_comments_and_processing_instructions_are_dropped():
    assert xml_to_json(b"<r><!-- c --><?pi x?><a>1</a></r>") == {"r": {"a": "1"}}


def test_document_element_named_root_gives_its_content():
    assert xml_to_json(b"<root><a>1</a><b>2</b></root>") == {"a": "1", "b": "2"}
    assert xml_to_json(b"<root><a>1</a></root>", root="doc") == {"root": {"a": "1"}}


def test_xml_to_json_refuses_a_doctype():
    with pytest.raises(XmlRefused):
        xml_to_json(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')


def test_xml_to_json_takes_a_parsed_element():
    assert xml_to_json(etree.fromstring(b"<r><a>1</a></r>")) == {"r": {"a": "1"}}


def test_deeply_nested_json_is_refused_not_crashed():
    value: object = "x"
    for _ in range(5000):
        value = {"a": value}
    with pytest.raises(JsonXmlError, match="nested too deeply"):
        json_to_xml(value)


# --- SPEC §3: json_to_xml | xml_to_json returns the input -----------------------------------

_ascii_start = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_ascii_start + "éÅΩж"),
    st.text(alphabet=_ascii_start + "0123456789-.·é", max_size=8),
).filter(lambda n: not n.lower().startswith("xml"))
xml_chars = st.characters(
    codec="utf-8",
    exclude_categories=("Cs",),
    exclude_characters="\ufffe\uffff",
).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20)
strings = st.text(alphabet=xml_chars, max_size=12)


def objects(children: st.SearchStrategy) -> st.SearchStrategy:
    members = st.one_of(children, st.lists(children, min_size=2, max_size=3))
    elements = st.dictionaries(names, members, min_size=1, max_size=3)
    attributes = st.dictionaries(names.map(lambda n: "@" + n), strings, max_size=2)
    return st.builds(lambda a, e: {**a, **e}, attributes, elements) | st.dictionaries(
        names.map(lambda n: "@" + n), strings, min_size=1, max_size=2
    )


values = st.recursive(strings, objects, max_leaves=12)
documents = st.builds(
    lambda name, value: {name: value},
    names,
    values | st.lists(values, min_size=2, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_json_to_xml_then_xml_to_json_returns_the_input(document):
    xml = json_to_xml(document)
    etree.fromstring(xml)  # well-formed for any XML parser, not just ours
    assert xml_to_json(xml) == document


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(names, values, min_size=2, max_size=4))
def test_objects_with_several_keys_round_trip_through_the_wrapper(document):
    assert xml_to_json(json_to_xml(document)) == document


def test_output_is_utf8_without_declaration():
    xml = json_to_xml({"r": "ж"})
    assert xml == "<r>ж</r>".encode() and json.loads(json.dumps(xml_to_json(xml))) == {"r": "ж"}
