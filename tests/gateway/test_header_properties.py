"""Property tests for SPEC §1: headers built from the grammar parse; canonical forms are stable."""

from __future__ import annotations

import re
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.header import parse
from igwcore import abnf
from igwcore.descriptor import ByContract, ByIO, ByName, Descriptor, canonical, canonical_descriptor
from igwcore.mediatype import ALIASES, normalize
from igwcore.problems import HeaderSyntax, TooManyArgs, TooManyStages

settings.register_profile(
    "header", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=75
)
settings.load_profile("header")

ALPHA = string.ascii_letters
DIGIT = string.digits
VCHAR = "".join(map(chr, range(0x21, 0x7F)))
BARE = "".join(c for c in VCHAR if c not in ",()|\"'=")
TCHAR = "!#$%&'*+-.^_`~" + ALPHA + DIGIT
URLCHAR = "".join(c for c in VCHAR if c not in '|#"')
REG_NAME = ALPHA + DIGIT + "-._~!$&'()*+,;="

ows = st.sampled_from(["", " ", "\t", "  ", " \t "])
ident = st.builds(
    str.__add__, st.sampled_from(ALPHA + "_"), st.text(ALPHA + DIGIT + "_-", max_size=6)
)
names = st.lists(ident, min_size=1, max_size=3).map(".".join)
versions = st.text(ALPHA + DIGIT + ".-_+", min_size=1, max_size=8)
bare_values = st.text(BARE, min_size=1, max_size=8).filter(lambda v: "->" not in v)
any_values = st.text(VCHAR + " \t", max_size=10)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def by_name_stages(draw: st.DrawFn) -> tuple[str, Descriptor]:
    name = draw(names)
    version = draw(st.none() | versions)
    text = name if version is None else f"{name}@{version}"
    args = draw(st.dictionaries(ident, st.one_of(bare_values, any_values), max_size=4))
    if args or draw(st.booleans()):
        written = []
        for k, v in args.items():
            is_bare = re.fullmatch(abnf.bare, v) and draw(st.booleans())
            written.append(f"{k}{draw(ows)}={draw(ows)}{v if is_bare else quote(v)}")
        sep = f"{draw(ows)},{draw(ows)}"
        text += f"{draw(ows)}({draw(ows)}{sep.join(written)}{draw(ows)}){draw(ows)}"
    return text, ByName(name, version, tuple(sorted(args.items())))


mtokens = st.text(TCHAR, min_size=1, max_size=6)
quoted_strings = st.text(VCHAR + " \t", max_size=6).map(quote)


@st.composite
def types(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        alias = draw(st.sampled_from(sorted(ALIASES)))
        return "".join(c.upper() if draw(st.booleans()) else c for c in alias)
    text = f"{draw(mtokens)}/{draw(mtokens)}"
    for _ in range(draw(st.integers(0, 2))):
        value = draw(st.one_of(mtokens, quoted_strings))
        text += f"{draw(ows)};{draw(ows)}{draw(mtokens)}{draw(ows)}={draw(ows)}{value}"
    return text


@st.composite
def by_io_stages(draw: st.DrawFn) -> tuple[str, Descriptor]:
    source, target = draw(types()), draw(types())
    return f"{source}{draw(ows)}->{draw(ows)}{target}", ByIO(normalize(source), normalize(target))


@st.composite
def by_contract_stages(draw: st.DrawFn) -> tuple[str, Descriptor]:
    scheme = draw(st.none() | st.from_regex(r"[A-Za-z][A-Za-z0-9+.\-]{0,5}", fullmatch=True))
    host = draw(st.text(REG_NAME, min_size=1, max_size=10))
    port = draw(st.none() | st.integers(0, 65535).map(str) | st.just("0080") | st.just(""))
    quoted = draw(st.booleans())
    path_chars = VCHAR if quoted else URLCHAR
    path = draw(st.sampled_from(["", "/", "?"])) + draw(st.text(path_chars, max_size=10))
    if path and path[0] not in "/?":
        path = "/" + path
    if scheme is None and port == "" and path.startswith("//"):
        port = None  # "h://..." would read "h" as a scheme
    url = (f"{scheme}://" if scheme else "") + host + ("" if port is None else f":{port}") + path
    operation = draw(st.one_of(ident, st.lists(ident, min_size=3, max_size=3).map(".".join)))
    wsdl = draw(st.sampled_from(["wsdl:", "WSDL:", "Wsdl:"]))
    text = f"{wsdl}{quote(url) if quoted else url}#{operation}"

    canonical_scheme = (scheme or "http").lower()
    canonical_port = str(int(port)) if port else ""
    if canonical_port == {"http": "80", "https": "443"}.get(canonical_scheme):
        canonical_port = ""
    canonical_url = (
        f"{canonical_scheme}://{host.lower()}"
        + (f":{canonical_port}" if canonical_port else "")
        + (path if path.startswith("/") else "/" + path)
    )
    return text, ByContract(canonical_url, operation)


stages = st.one_of(by_name_stages(), by_io_stages(), by_contract_stages())


@st.composite
def headers(
    draw: st.DrawFn, stages: st.SearchStrategy[tuple[str, Descriptor]] = stages
) -> tuple[str, tuple[Descriptor, ...]]:
    chosen = draw(st.lists(stages, min_size=1, max_size=4))
    text = draw(ows)
    for i, (stage_text, _) in enumerate(chosen):
        text += (f"{draw(ows)}|{draw(ows)}" if i else "") + stage_text
    return text + draw(ows), tuple(d for _, d in chosen)


def parse_or_refuse(value: str) -> tuple[Descriptor, ...] | None:
    """Parse, allowing only the refusals SPEC §1 defines."""
    try:
        return parse(value)
    except HeaderSyntax as error:
        assert 0 <= error.members["position"] <= len(value)
        assert error.members["expected"]
        return None
    except (TooManyStages, TooManyArgs):
        return None


@given(headers())
def test_headers_built_from_the_grammar_parse_to_their_descriptors(header):
    text, expected = header
    assert parse(text) == expected


@given(headers())
def test_headers_built_from_the_grammar_match_the_chain_rule(header):
    assert re.fullmatch(abnf.chain, header[0])


@given(headers())
def test_canonical_form_is_idempotent_and_parses_to_the_same_descriptors(header):
    descriptors = parse(header[0])
    form = canonical(descriptors)
    assert parse(form) == descriptors
    assert canonical(parse(form)) == form


@given(names, st.none() | versions, st.dictionaries(ident, any_values, max_size=5))
def test_any_by_name_descriptor_round_trips_through_its_canonical_form(name, version, args):
    descriptor = ByName(name, version, tuple(sorted(args.items())))
    assert parse(canonical_descriptor(descriptor)) == (descriptor,)


@given(st.text())
def test_random_text_is_parsed_or_refused_as_specified(value):
    parse_or_refuse(value)


@given(st.text(alphabet=" \t|()=,->\"'\\@.;:/#*aZ_9wsdl", max_size=40))
def test_grammar_like_text_is_parsed_or_refused_as_specified(value):
    descriptors = parse_or_refuse(value)
    if descriptors is not None:
        assert parse(canonical(descriptors)) == descriptors


@given(headers(), st.data())
def test_a_mangled_header_is_parsed_or_refused_as_specified(header, data):
    text = header[0]
    at = data.draw(st.integers(0, len(text)))
    if data.draw(st.booleans()) and at < len(text):
        text = text[:at] + text[at + 1 :]
    else:
        text = text[:at] + data.draw(st.sampled_from(list(" \t|()=,->\"'\\@.;:/#xé\n"))) + text[at:]
    descriptors = parse_or_refuse(text)
    if descriptors is not None:
        assert parse(canonical(descriptors)) == descriptors


@given(headers(st.one_of(by_name_stages(), by_contract_stages())), st.data())
def test_a_syntax_error_position_is_a_valid_prefix_end(header, data):
    """Cutting a valid header short fails at its end or still parses: nothing before is blamed.

    (Not for by-io stages: cut before its "->", a stage is by-name, as SPEC §1 says.)
    """
    text = header[0]
    cut = text[: data.draw(st.integers(0, len(text)))]
    try:
        parse(cut)
    except HeaderSyntax as error:
        assert error.members["position"] == len(cut) or _blames_a_whole_token(cut, error)


def _blames_a_whole_token(value: str, error: HeaderSyntax) -> bool:
    # Token-level errors point at the token's start: an unknown alias cut short ("JS"),
    # a URL scheme or port cut short, or a port of a URL cut before its path.
    return error.members["expected"].startswith(
        ("a type", "a URL scheme", "a port number", "a host")
    )
