"""SPEC §1: parsing Integration-Config, its canonical form and the application key."""

from __future__ import annotations

import re

import pytest

from gateway.header import key, parse
from igwcore import abnf
from igwcore.descriptor import ByContract, ByIO, ByName, canonical, canonical_descriptor
from igwcore.problems import HeaderSyntax, TooManyArgs, TooManyStages

PATENT = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML"
    " | wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)
PATENT_CANONICAL = (
    "logger(file=log.txt, level=DEBUG) | validator | application/json -> application/xml"
    " | wsdl:http://www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


def app_key(header: str) -> str:
    return key(canonical(parse(header)))


def syntax_error(header: str) -> HeaderSyntax:
    with pytest.raises(HeaderSyntax) as info:
        parse(header)
    return info.value


# -- the patent's example --


def test_patent_example_parses_into_its_five_stages():
    assert parse(PATENT) == (
        ByName("logger", None, (("file", "log.txt"), ("level", "DEBUG"))),
        ByName("validator"),
        ByIO("application/json", "application/xml"),
        ByContract("http://www.cloud.com/formatter", "XMLCheck"),
        ByName("customer.cz.order"),
    )


def test_patent_example_has_the_specified_canonical_form():
    assert canonical(parse(PATENT)) == PATENT_CANONICAL


def test_patent_example_has_the_specified_key():
    assert app_key(PATENT) == "a7cd4417c017c88b8dcc6ca000228db8"


def test_key_is_32_lower_case_hex_digits_of_xxh3_128():
    import xxhash

    assert key("validator") == xxhash.xxh3_128(b"validator", seed=0).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", key("validator"))


def test_key_hashes_the_utf8_bytes():
    import xxhash

    assert key('x(v="é")') == xxhash.xxh3_128('x(v="é")'.encode()).hexdigest()


# -- immaterial differences give the same key --


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("validator|json_to_xml", "validator | json_to_xml"),
        ("logger(level=INFO,file=x.txt)", 'logger(file="x.txt", level=INFO)'),
        ("XML->JSON", "application/xml -> application/json"),
        ("text/xml -> json", "XML -> JSON"),
        ("wsdl:Example.COM:80/svc#Op", "wsdl:http://example.com/svc#Op"),
        ("name()", "name"),
        ("\t validator \t", "validator"),
        ("a ( x = 1 , y = 2 )", "a(y=2,x=1)"),
        ("a@1.0 ()", "a@1.0"),
        ("Text/CSV; charset=utf-8 -> binary", "text/csv -> application/octet-stream"),
        ("SOAP -> yaml", "application/soap+xml -> application/yaml"),
        ("wsdl:HTTPS://H.example:443#Op", "wsdl:https://h.example/#Op"),
        ("wsdl:h.example?wsdl#Op", "wsdl:http://h.example/?wsdl#Op"),
        ("wsdl:h:0080/x#Op", "wsdl:http://h/x#Op"),
        ("wsdl:h:/x#Op", "wsdl:http://h/x#Op"),
        ('wsdl:"h/x"#Op', "wsdl:h/x#Op"),
        ("WSDL:h/x#Op", "wsdl:h/x#Op"),
    ],
)
def test_immaterial_differences_give_the_same_key(one, other):
    assert app_key(one) == app_key(other)


def test_reordered_args_give_same_key():
    assert app_key("a(x=1, y=2, z=3)") == app_key("a(z=3, x=1, y=2)")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Logger", "logger"),
        ("a(x=A)", "a(x=a)"),
        ("a(X=1)", "a(x=1)"),
        ("a@1.0", "a@1.0.0"),
        ("wsdl:h/Svc#Op", "wsdl:h/svc#Op"),
        ("wsdl:h/x#Op", "wsdl:h/x#op"),
        ("wsdl:h:8080/x#Op", "wsdl:h/x#Op"),
        ("wsdl:https://h:80/x#Op", "wsdl:https://h/x#Op"),
        ("a | b", "b | a"),
        ('a(x=" 1")', "a(x=1)"),
    ],
)
def test_material_differences_give_different_keys(one, other):
    assert app_key(one) != app_key(other)


# -- descriptors --


def test_args_are_sorted_by_key_code_point():
    assert parse("a(b=1, B=2, _=3, a=4)")[0].args == (
        ("B", "2"),
        ("_", "3"),
        ("a", "4"),
        ("b", "1"),
    )


def test_version_is_kept_as_written():
    assert parse("customer.cz.order@1.0-rc+build_2")[0] == ByName(
        "customer.cz.order", "1.0-rc+build_2"
    )


def test_quoted_value_escapes_are_undone():
    (stage,) = parse('a(x="say \\"hi\\" \\\\ bye", y="", z="a,b|c->d=(e)\'")')
    assert stage.arguments == {"x": 'say "hi" \\ bye', "y": "", "z": "a,b|c->d=(e)'"}


def test_quoting_never_changes_a_value():
    assert parse('a(x="DEBUG")') == parse("a(x=DEBUG)")


def test_bare_value_may_hold_any_vchar_but_the_excluded_ones():
    assert parse("a(x=#$%&*+./:;<>?@[\\]^_`{}~!-)")[0].arguments == {
        "x": "#$%&*+./:;<>?@[\\]^_`{}~!-"
    }


def test_canonical_form_quotes_values_that_bare_cannot_hold():
    stage = ByName("a", None, (("e", ""), ("q", 'x"\\y'), ("s", "a b"), ("t", "a->b")))
    assert canonical_descriptor(stage) == r'a(e="", q="x\"\\y", s="a b", t="a->b")'


def test_canonical_form_keeps_bare_what_bare_can_hold():
    assert canonical(parse('a(x="log.txt", y="a-")')) == "a(x=log.txt, y=a-)"


def test_dash_before_arrow_ends_an_ident_and_an_mtoken():
    assert parse("a-b.c_-(k-=v-)")[0] == ByName("a-b.c_-", None, (("k-", "v-"),))
    assert parse("x-y/z-->a-b/c")[0] == ByIO("x-y/z-", "a-b/c")


def test_arrow_inside_quotes_keeps_a_stage_by_name():
    assert parse('a(x="->")') == (ByName("a", None, (("x", "->"),)),)


def test_arrow_inside_a_quoted_parameter_is_not_the_conversion():
    assert parse('text/plain;x="a->b" -> json') == (ByIO("text/plain", "application/json"),)


def test_media_type_parameters_are_dropped_and_aliases_expanded():
    assert parse('Text/Plain ; charset="utf-8" ; q = 1 -> JSON') == (
        ByIO("text/plain", "application/json"),
    )


def test_wildcard_media_types_are_types():
    assert parse("*/* -> text/*") == (ByIO("*/*", "text/*"),)


def test_canonical_url_lower_cases_scheme_and_host_only():
    (stage,) = parse("wsdl:HTTP://WWW.Cloud.COM/Formatter?WSDL#XMLCheck")
    assert stage.url == "http://www.cloud.com/Formatter?WSDL"


def test_url_without_scheme_gets_http():
    assert parse("wsdl:localhost:8080/x#Op")[0].url == "http://localhost:8080/x"


def test_scheme_is_only_before_the_first_slash():
    assert parse("wsdl:h/r?u=https://x#Op")[0].url == "http://h/r?u=https://x"


def test_ip_literal_host_keeps_its_port():
    assert parse("wsdl:http://[::1]:8080#Op")[0].url == "http://[::1]:8080/"


def test_quoted_url_may_hold_hash_pipe_and_quote():
    (stage,) = parse(r'wsdl:"http://h/p?a=1|2&b=\"#x"#Op')
    assert stage == ByContract('http://h/p?a=1|2&b="#x', "Op")
    assert canonical_descriptor(stage) == r'wsdl:"http://h/p?a=1|2&b=\"#x"#Op'


def test_url_is_quoted_in_canonical_form_only_when_it_must_be():
    assert canonical(parse('wsdl:"http://h/p?a=1"#Op')) == "wsdl:http://h/p?a=1#Op"
    assert canonical(parse('wsdl:"http://h/p?a=1#x"#Op')) == 'wsdl:"http://h/p?a=1#x"#Op'


def test_operation_may_be_qualified_by_service_and_port():
    (stage,) = parse("wsdl:h/x#Svc.Port_1.Op-2")
    assert stage.qualified == ("Svc", "Port_1", "Op-2")


def test_url_may_hold_characters_that_end_other_tokens():
    stage = parse("wsdl:h/a(b),c=d'e->f;g@h#Op | next")[0]
    assert stage.url == "http://h/a(b),c=d'e->f;g@h"


def test_pipe_inside_quotes_does_not_split_stages():
    assert len(parse('a(x="1|2") | b')) == 2


def test_canonical_of_a_hand_made_by_io_normalizes_its_types():
    assert canonical_descriptor(ByIO("JSON", "text/xml")) == "application/json -> application/xml"


def test_canonical_rejects_what_is_not_a_descriptor():
    with pytest.raises(TypeError):
        canonical_descriptor("validator")  # type: ignore[arg-type]


# -- syntax errors: position is the offset in the value as received --


@pytest.mark.parametrize(
    ("header", "position", "expected"),
    [
        # empty stages
        ("", 0, "a service name, 'wsdl:' or a media type"),
        ("   ", 3, "a service name, 'wsdl:' or a media type"),
        ("a||b", 2, "a service name, 'wsdl:' or a media type"),
        ("a | | b", 4, "a service name, 'wsdl:' or a media type"),
        ("a |", 3, "a service name, 'wsdl:' or a media type"),
        ("| a", 0, "a service name, 'wsdl:' or a media type"),
        # whitespace where none may stand
        ("cust omer", 5, "'(', '|' or the end of the value"),
        ("customer .cz", 9, "'(', '|' or the end of the value"),
        ("customer. cz", 9, "an identifier after '.'"),
        ("logger @1.0", 7, "'(', '|' or the end of the value"),
        ("logger@ 1.0", 7, "a version after '@'"),
        ("logger@1. 0", 10, "'(', '|' or the end of the value"),
        ("wsdl: h/x#Op", 5, "a URL or a quoted URL after 'wsdl:'"),
        ("wsdl :h/x#Op", 5, "'(', '|' or the end of the value"),
        ("wsdl:h/x #Op", 8, "'#' and an operation"),
        ("wsdl:h/x# Op", 9, "an operation: Op or Service.Port.Op"),
        ("wsdl:h/ x#Op", 7, "'#' and an operation"),
        ("text/ csv -> json", 5, "a subtype after '/'"),
        ("text /csv -> json", 5, "'->' and the target type"),
        ("a(ke y=1)", 5, "'=' after the argument key"),
        ("a(k=v w)", 6, "',' or ')'"),
        # names, versions, args
        ("1abc", 0, "a service name, 'wsdl:' or a media type"),
        ("a.", 2, "an identifier after '.'"),
        ("a.1", 2, "an identifier after '.'"),
        ("a@", 2, "a version after '@'"),
        ("a$", 1, "'.', '@', '(', '|' or the end of the value"),
        ("a@1.0@2", 5, "'(', '|' or the end of the value"),
        ("a(b)", 3, "'=' after the argument key"),
        ("a(", 2, "an argument key or ')'"),
        ("a(x=1", 5, "',' or ')'"),
        ("a(x=1,", 6, "an argument key"),
        ("a(x=1,)", 6, "an argument key"),
        ("a(,)", 2, "an argument key or ')'"),
        ("a(1=2)", 2, "an argument key or ')'"),
        ("a(x=)", 4, "an argument value"),
        ("a(x='y')", 4, "an argument value"),
        ("a(x=a=b)", 5, "',' or ')'"),
        ("a(x=a(b))", 5, "',' or ')'"),
        ("a(x=1) b", 7, "'|' or the end of the value"),
        ("a(x=1)(y=2)", 6, "'|' or the end of the value"),
        ("a(x=1, x=2)", 7, "an argument key not given before in this stage"),
        ("a(x=1, y=2, x=3)", 12, "an argument key not given before in this stage"),
        # quotes
        ('a(x="abc', 8, "'\"' closing the quoted value"),
        ('a(x="abc\\', 9, "'\"' closing the quoted value"),
        ('a(x="ab\\"c)', 11, "'\"' closing the quoted value"),
        ('a(x="a\\nb")', 6, "'\\\"' or '\\\\' after a backslash"),
        ('a(x="a"b)', 7, "',' or ')'"),
        ('a"b', 1, "'.', '@', '(', '|' or the end of the value"),
        # characters outside printable ASCII, space and tab
        ("a(x=é)", 4, "a printable ASCII character, a space or a tab"),
        ("validator\n", 9, "a printable ASCII character, a space or a tab"),
        ("a|b\x00", 3, "a printable ASCII character, a space or a tab"),
        ('a(x="\x7f")', 5, "a printable ASCII character, a space or a tab"),
        ("a||\u2192", 3, "a printable ASCII character, a space or a tab"),
        # by-io
        ("FOO -> json", 0, "a type: an alias such as JSON or a media type such as text/csv"),
        ("json -> jsonx", 8, "a type: an alias such as JSON or a media type such as text/csv"),
        ("json ->", 7, "a type: an alias such as JSON or a media type such as text/csv"),
        ("-> json", 0, "a type: an alias such as JSON or a media type such as text/csv"),
        ("text/ -> json", 5, "a subtype after '/'"),
        ("text/plain; -> json", 12, "a parameter name after ';'"),
        ("text/plain;charset -> json", 19, "'=' after the parameter name"),
        ("text/plain;charset= -> json", 20, "a parameter value"),
        ('json -> text/plain;q="x', 23, "'\"' closing the quoted value"),
        ('text/plain;q="x -> json', 4, "'.', '@', '(', '|' or the end of the value"),
        ("json;charset=utf-8 -> xml", 4, "'->' and the target type"),
        ("json -> xml -> yaml", 12, "'|' or the end of the value"),
        ("json -> xml;", 11, "'|' or the end of the value"),
        ("json -> text/xml;", 17, "a parameter name after ';'"),
        ("application/json x -> xml", 17, "'->' and the target type"),
        ("logger(x=a->b)", 0, "a type: an alias such as JSON or a media type such as text/csv"),
        # by-contract
        ("wsdl:", 5, "a URL or a quoted URL after 'wsdl:'"),
        ("wsdl:#Op", 5, "a URL or a quoted URL after 'wsdl:'"),
        ("wsdl:h/x", 8, "'#' and an operation"),
        ("wsdl:h/x#", 9, "an operation: Op or Service.Port.Op"),
        ("wsdl:h/x#1Op", 9, "an operation: Op or Service.Port.Op"),
        ("wsdl:h/x#S.Op", 13, "'.' and the operation (Service.Port.Op)"),
        ("wsdl:h/x#S.P.", 13, "an identifier after '.'"),
        ("wsdl:h/x#A.B.C.D", 14, "'|' or the end of the value"),
        ("wsdl:h/x#Op extra", 12, "'|' or the end of the value"),
        ('wsdl:h/x"y"#Op', 8, "'#' and an operation"),
        ("wsdl:user@h/x#Op", 9, "a host without user information"),
        ("wsdl:http://user:pw@h/x#Op", 19, "a host without user information"),
        ('wsdl:"http://u@h/p#x"#Op', 14, "a host without user information"),
        ("wsdl:1http://h/x#Op", 5, "a URL scheme: a letter, then letters, digits, '+', '-' or '.'"),
        ("wsdl:h:8o/x#Op", 8, "a port number (digits)"),
        ("wsdl:h:65536/x#Op", 7, "a port number up to 65535"),
        ("wsdl:h%zz/x#Op", 6, "a host name character, ':' and a port, or the path"),
        ('wsdl:""#Op', 6, "a URL"),
        ('wsdl:"http://h/ x"#Op', 15, "a URL character"),
        ('wsdl:"\\"h/x"#Op', 6, "a host"),
        ('wsdl:"a\\"b @c"#Op', 10, "a URL character"),
        ('wsdl:"h/x', 9, "'\"' closing the quoted value"),
    ],
)
def test_syntax_error_reports_position_and_expectation(header, position, expected):
    error = syntax_error(header)
    assert (error.members["position"], error.members["expected"]) == (position, expected)


def test_position_counts_from_the_value_as_received_not_stripped():
    assert syntax_error("   a b").members["position"] == 5
    assert syntax_error("\t\ta |  |b").members["position"] == 7


def test_syntax_error_detail_quotes_what_was_found_and_where():
    detail = syntax_error("logger(level=DEBUG, file=log.txt) | valid ator").detail
    assert "offset 42" in detail
    assert "found 'a' after" in detail
    assert "| valid " in detail
    assert "Spaces are not allowed inside a name" in detail


def test_syntax_error_detail_names_a_non_ascii_character():
    assert "U+00E9" in syntax_error("caf\u00e9").detail


def test_syntax_error_detail_suggests_quoting_a_value_with_an_arrow():
    detail = syntax_error("logger(x=a->b)").detail
    assert "'logger' is not a type alias" in detail
    assert "quote the value" in detail


def test_syntax_error_body_is_a_problem_with_position_and_expected():
    body = syntax_error("a(b)").body()
    assert body["status"] == 400
    assert body["type"].endswith("/syntax")
    assert body["position"] == 3
    assert body["expected"] == "'=' after the argument key"


def test_a_long_value_breaks_nothing_in_its_error():
    error = syntax_error("a" * 5000 + " b")
    assert error.members["position"] == 5001
    assert len(error.detail) < 400


# -- limits --


def test_max_stages_are_allowed():
    assert len(parse(" | ".join(["a"] * 32))) == 32


def test_one_stage_over_the_limit_is_too_many_stages():
    with pytest.raises(TooManyStages) as info:
        parse(" | ".join(["a"] * 33))
    assert info.value.members == {"limit": 32}


def test_too_many_stages_fails_before_reading_the_rest():
    with pytest.raises(TooManyStages):
        parse("a|" * 3 + "not valid (((", max_stages=3)


def test_syntax_error_before_the_stage_limit_is_reported_first():
    with pytest.raises(HeaderSyntax):
        parse("a b|" + "a|" * 40 + "a", max_stages=3)


def test_max_args_are_allowed():
    args = ", ".join(f"k{i}=v" for i in range(32))
    assert len(parse(f"a(x=1) | b({args})")[1].args) == 32


def test_one_arg_over_the_limit_names_the_stage():
    args = ", ".join(f"k{i}=v" for i in range(33))
    with pytest.raises(TooManyArgs) as info:
        parse(f"a(x=1) | b({args})")
    assert info.value.members == {"stage": 1, "limit": 32}


def test_limits_are_parameters():
    with pytest.raises(TooManyArgs):
        parse("a(x=1, y=2)", max_args=1)
    with pytest.raises(TooManyStages):
        parse("a | b", max_stages=1)
    assert parse("a() | b", max_stages=2, max_args=0) == (ByName("a"), ByName("b"))


def test_a_huge_header_fails_fast_at_the_limit():
    import time

    value = "a|" * 100_000 + "a"
    started = time.perf_counter()
    with pytest.raises(TooManyStages):
        parse(value)
    assert time.perf_counter() - started < 0.25


def test_pathological_values_take_linear_time():
    import time

    started = time.perf_counter()
    for value in [
        "a(" + "k" * 20000,
        'a(x="' + "\\\\" * 10000,
        "t/" + "s" * 20000 + " x",
        "wsdl:" + "h" * 20000,
        "a(x=" + "v-" * 10000 + ">",
        "t/s" + ";p=v" * 5000 + "; -> json",
    ]:
        with pytest.raises(HeaderSyntax):
            parse(value)
    assert time.perf_counter() - started < 1.0  # backtracking would take minutes


# -- the grammar module mirrors SPEC §1 --


def test_grammar_chain_matches_the_patent_example():
    assert re.fullmatch(abnf.chain, PATENT)
    assert re.fullmatch(abnf.chain, PATENT_CANONICAL)


@pytest.mark.parametrize(
    ("rule", "text", "matches"),
    [
        ("ident", "_a-1", True),
        ("ident", "1a", False),
        ("name", "customer.cz.order", True),
        ("version", "1.0-rc+2_x", True),
        ("bare", "a-b", True),
        ("bare", "a->b", False),
        ("bare", "a b", False),
        ("quoted", r'"a\"b\\c"', True),
        ("quoted", r'"a\nb"', False),
        ("media_type", "application/soap+xml;charset=utf-8", True),
        ("media_type", "a|b/c", False),
        ("type", "Json", True),
        ("type", "jsonx", False),
        ("operation", "S.P.Op", True),
        ("operation", "S.Op", False),
        ("url", "www.cloud.com/formatter", True),
        ("url", "h/a#b", False),
        ("by_contract", 'wsdl:"h/p#x"#Op', True),
        ("by_io", "JSON->XML", True),
        ("by_name", "name()", True),
    ],
)
def test_grammar_rules_match_what_spec_says(rule, text, matches):
    assert bool(re.fullmatch(getattr(abnf, rule), text)) is matches


def test_port_of_thousands_of_digits_is_a_syntax_error():
    value = "wsdl:h:" + "1" * 5000 + "/p#Op"
    with pytest.raises(HeaderSyntax) as e:
        parse(value)
    assert e.value.members["position"] == 7
    assert canonical(parse("wsdl:h:" + "0" * 5000 + "80/p#Op")) == "wsdl:http://h/p#Op"


@pytest.mark.parametrize(
    "header,url",
    [
        ("wsdl:file:///etc/passwd#Op", "file:///etc/passwd"),
        ("wsdl:HTTP:///x#Op", "http:///x"),
    ],
)
def test_url_naming_its_scheme_may_have_no_host(header, url):
    # SPEC §1's url is any run of URL characters; resolution refuses these (404, reason).
    (descriptor,) = parse(header)
    assert descriptor == ByContract(url, "Op")


def test_url_without_scheme_or_host_is_a_syntax_error():
    with pytest.raises(HeaderSyntax) as e:
        parse("wsdl:/x#Op")
    assert e.value.members["position"] == 5
