"""The console's plain functions: the list's order, the policy and client forms, sizes and
counts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appserver.purge import PurgePolicy
from gateway.console.forms import (
    PER_PAGE,
    View,
    application_key,
    client_data,
    client_id,
    count,
    matching,
    ordered,
    paged,
    policy_data,
    size,
    sort_of,
    view_of,
)
from gateway.console.markup import prose
from igwcore.problems import InvalidEntry
from repository.clients import client_fields

FORM = {
    "interval_s": "3600",
    "cron": "",
    "max_idle_s": "600",
    "max_apps": "1000",
    "max_bytes": "268435456",
    "on_deploy": "on",
}


def record(key: str, hits: int = 0, size_bytes: int = 0, last_used: str = "") -> dict[str, Any]:
    return {"key": key, "hits": hits, "size_bytes": size_bytes, "last_used": last_used}


def test_no_sort_in_the_query_is_most_recently_used_first():
    assert sort_of({}) == ("last_used", "desc")


def test_a_known_sort_and_order_are_kept():
    assert sort_of({"sort": "size", "order": "asc"}) == ("size", "asc")
    assert sort_of({"sort": "hits"}) == ("hits", "desc")


def test_an_unknown_sort_or_order_falls_back_to_the_default_alone():
    assert sort_of({"sort": "size_bytes", "order": "asc"}) == ("last_used", "asc")
    assert sort_of({"sort": "hits", "order": "sideways"}) == ("hits", "desc")


def test_size_sorts_by_the_records_size_in_bytes():
    records = [record("a", size_bytes=30), record("b", size_bytes=10), record("c", size_bytes=20)]
    assert [r["key"] for r in ordered(records, "size", "asc")] == ["b", "c", "a"]
    assert [r["key"] for r in ordered(records, "size", "desc")] == ["a", "c", "b"]


def test_ties_are_broken_by_last_use_then_key():
    records = [
        record("b", hits=1, last_used="2024-01-01T00:00:02Z"),
        record("c", hits=1, last_used="2024-01-01T00:00:01Z"),
        record("a", hits=1, last_used="2024-01-01T00:00:02Z"),
    ]
    assert [r["key"] for r in ordered(records, "hits", "asc")] == ["c", "a", "b"]
    assert [r["key"] for r in ordered(records, "hits", "desc")] == ["b", "a", "c"]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=8))
def test_the_order_does_not_depend_on_the_lists_order(values):
    records = [
        record(f"k{i}", hits=h, last_used=f"2024-01-01T00:00:0{u}Z")
        for i, (h, u) in enumerate(values)
    ]
    assert ordered(records, "hits", "desc") == ordered(records[::-1], "hits", "desc")
    assert ordered(records, "hits", "asc") == ordered(records, "hits", "desc")[::-1]


def test_the_whole_form_is_the_whole_policy():
    data, errors = policy_data({**FORM, "cron": " */5 * * * * ", "max_idle_s": "42.5"})
    assert errors == []
    assert data == {
        "interval_s": 3600,
        "cron": "*/5 * * * *",
        "max_idle_s": 42.5,
        "max_apps": 1000,
        "max_bytes": 268435456,
        "on_deploy": True,
    }
    assert PurgePolicy().updated_from(data).max_idle_s == 42.5


def test_an_unchecked_box_is_false():
    form = dict(FORM)
    del form["on_deploy"]
    assert policy_data(form)[0]["on_deploy"] is False


def test_whole_floats_are_ints_so_errors_read_minus_one_not_minus_one_point_zero():
    data, errors = policy_data({**FORM, "max_idle_s": "-1.0", "interval_s": "7.0"})
    assert errors == [] and data["max_idle_s"] == -1 and data["interval_s"] == 7
    assert isinstance(data["max_idle_s"], int)


def test_every_field_that_is_not_a_number_is_named_and_left_out():
    form = {**FORM, "interval_s": "soon", "max_apps": "1.5", "max_bytes": "", "max_idle_s": "nan"}
    data, errors = policy_data(form)
    assert errors == [
        {"field": "interval_s", "reason": "'soon' is not a number"},
        {"field": "max_idle_s", "reason": "'nan' is not a finite number"},
        {"field": "max_apps", "reason": "'1.5' is not a whole number"},
        {"field": "max_bytes", "reason": "'' is not a whole number"},
    ]
    assert data == {"cron": "", "on_deploy": True}


def test_infinity_is_not_a_finite_number():
    errors = policy_data({**FORM, "interval_s": "inf", "max_idle_s": "-Infinity"})[1]
    assert [e["reason"] for e in errors] == [
        "'inf' is not a finite number",
        "'-Infinity' is not a finite number",
    ]


@given(st.integers(min_value=0, max_value=2**62))
def test_a_whole_number_is_read_as_that_int(n):
    data, errors = policy_data({**FORM, "max_bytes": f" {n} "})
    assert errors == [] and data["max_bytes"] == n


def test_sizes_read_in_bytes_then_binary_units_up_to_gib():
    assert size(0) == "0 bytes"
    assert size(1023) == "1023 bytes"
    assert size(1024) == "1.0 KiB"
    assert size(2489) == "2.4 KiB"
    assert size(5 * 2**20) == "5.0 MiB"
    assert size(3 * 2**40) == "3072.0 GiB"


def test_a_count_is_plain_ascii_digits_or_none():
    assert count("12") == 12 and count("0") == 0
    for value in (None, "", "-1", " 1", "1.0", "²", "١٢"):
        assert count(value) is None, value


def test_allow_patterns_are_one_a_line_or_comma_separated():
    data = client_data({"name": " billing ", "allow": "validator, json_to_*\r\n\n customer.cz.*,"})
    assert data == {"name": "billing", "allow": ["validator", "json_to_*", "customer.cz.*"]}


def test_sends_is_split_on_commas_and_lines_only_keeping_a_types_parameters():
    data = client_data({"name": "a", "allow": "*", "sends": "text/csv; charset=utf-8,\nx/y"})
    assert data["sends"] == ["text/csv; charset=utf-8", "x/y"]


def test_empty_optional_fields_are_left_out_and_the_rest_trimmed():
    form = {"name": "a", "allow": "*", "description": "  ", "source": "", "sends": " , "}
    assert client_data(form) == {"name": "a", "allow": ["*"]}
    form = {"name": "a", "allow": "*", "description": " the export ", "source": " https://x/ "}
    assert client_data(form) == {
        "name": "a",
        "allow": ["*"],
        "description": "the export",
        "source": "https://x/",
    }


def test_a_missing_field_is_empty_so_the_clients_own_check_names_it():
    data = client_data({})
    assert data == {"name": "", "allow": []}
    with pytest.raises(InvalidEntry) as refused:
        client_fields(data)
    assert [e["field"] for e in refused.value.members["errors"]] == ["name"]


@given(st.lists(st.from_regex(r"[!-+\--~]{1,20}", fullmatch=True), max_size=6))
def test_patterns_joined_by_lines_or_commas_come_back_as_they_were(patterns):
    assert client_data({"allow": "\n".join(patterns)})["allow"] == patterns
    assert client_data({"allow": ", ".join(patterns)})["allow"] == patterns


def test_a_client_id_in_the_query_is_plain_letters_digits_dashes():
    assert client_id("c0123456789abcdef0123") == "c0123456789abcdef0123"
    for value in (None, "", "c1\n", "<b>", "c 1", "x" * 65):
        assert client_id(value) is None, value


def app(key: str, canonical: str = "validator", stages: tuple[str, ...] = ("validator@1.0.0",)):
    return {"key": key, "canonical": canonical, "stages": list(stages)}


def test_the_view_of_a_query_keeps_what_is_known():
    assert view_of({}) == View()
    assert view_of({"q": "  json ", "sort": "hits", "order": "asc", "page": "3"}) == View(
        "json", "hits", "asc", 3
    )
    assert view_of({"page": "-2"}).page == 1 and view_of({"page": "x"}).page == 1
    assert len(view_of({"q": "x" * 1000}).q) == 200


def test_a_views_query_leaves_the_defaults_out():
    assert View().query() == {}
    assert View("a", "hits", "asc", 2).query() == {"sort": "hits", "order": "asc", "q": "a",
                                                   "page": "2"}  # fmt: skip
    assert View("a", page=4).query(page=1) == {"q": "a"}


def test_the_filter_matches_a_key_a_service_or_the_header_case_aside():
    records = [
        app("ab" * 16),
        app("cd" * 16, "JSON -> XML", ("json_to_xml@1.0.0",)),
        app("ef" * 16, 'validator(schema="{}")'),
    ]
    assert [r["key"] for r in matching(records, "cdcd")] == ["cd" * 16]
    assert [r["key"] for r in matching(records, "JSON_TO")] == ["cd" * 16]
    assert [r["key"] for r in matching(records, "schema")] == ["ef" * 16]
    assert matching(records, "") == records and matching(records, "nothing") == []


def test_paging_shows_the_last_page_when_asked_past_it():
    records = [app(f"{i:032x}") for i in range(120)]
    rows, page, pages = paged(records, 1)
    assert (len(rows), page, pages) == (PER_PAGE, 1, 3)
    rows, page, pages = paged(records, 9)
    assert (len(rows), page, pages) == (20, 3, 3) and rows[0]["key"] == f"{100:032x}"
    assert paged([], 5) == ([], 1, 1)


def test_an_application_key_is_32_hex_digits():
    assert application_key("0" * 32) == "0" * 32
    assert application_key("0" * 31) is None and application_key("<b>" + "0" * 29) is None
    assert application_key(None) is None


def test_a_description_shows_backticks_as_code_and_escapes_the_rest():
    assert prose("with `schema` (a <JSON> text)") == (
        "with <code>schema</code> (a &lt;JSON&gt; text)"
    )
    assert prose("`<script>`") == "<code>&lt;script&gt;</code>"
    assert prose("an odd ` backtick") == "an odd ` backtick"
