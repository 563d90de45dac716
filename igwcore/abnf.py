"""SPEC §1's grammar as regular expressions, one a rule, named as the rules are.

Read it side by side with SPEC.md: each pattern is the rule in the comment above it
(`by-name` is `by_name` here). Patterns are strings; gateway/header.py (which reads a
value), gateway/header_errors.py (which explains a failure), igwcore/descriptor.py and
igwcore/urls.py (which write the canonical form) compile them.
Every token is greedy by nature, so token quantifiers are possessive (`*+`, `++`): a
failed match never backtracks into a token, which keeps it linear in the value's length.

What a pattern cannot say, the parser checks: which kind a stage is (it starts with
`wsdl:`, else it contains `->` outside a quoted value, else it is by-name), a key given
twice, a URL's user information, its scheme and port (the RFC 3986 rules at the end).
"""

from __future__ import annotations

from igwcore.mediatype import ALIASES

# Spaces and tabs, allowed at the ends and around | ( ) , = -> and a media type's ;
OWS = r"[ \t]*+"

# ident = ( ALPHA / "_" ) *( ALPHA / DIGIT / "_" / "-" )   ; a "-" directly before ">" ends it
ident = r"[A-Za-z_](?:[A-Za-z0-9_]|-(?!>))*+"

# name = ident *( "." ident )
name = rf"{ident}(?:\.{ident})*+"

# key = ident
key = ident

# version = 1*( ALPHA / DIGIT / "." / "-" / "_" / "+" )
version = r"[A-Za-z0-9._+\-]++"

# bare = 1*( VCHAR except  , ( ) | " ' = ), not containing "->"
#   VCHAR is 0x21-0x7E; the class leaves out " ' ( ) , - = | (0x22 0x27 0x28 0x29 0x2C
#   0x2D 0x3D 0x7C) and "-" comes back when no ">" follows it.
bare = r"(?:[\x21\x23-\x26\x2a\x2b\x2e-\x3c\x3e-\x7b\x7d\x7e]|-(?!>))++"

# quoted = DQUOTE *( qchar / "\" DQUOTE / "\" "\" ) DQUOTE   ; qchar: any char but DQUOTE and "\"
quoted = r'"(?:[^"\\]|\\["\\])*+"'

# value = bare / quoted
value = rf"(?:{bare}|{quoted})"

# arg = key "=" value
arg = rf"{key}{OWS}={OWS}{value}"

# by-name = name [ "@" version ] [ "(" [ arg *( "," arg ) ] ")" ]
by_name = (
    rf"{name}(?:@{version})?"
    rf"(?:{OWS}\({OWS}(?:{arg}(?:{OWS},{OWS}{arg})*)?{OWS}\))?"
)

# mtoken = 1*tchar   ; RFC 9110 tchar without "|"; a "-" directly before ">" ends one
mtoken_char = r"(?:[!#$%&'*+.^_`~0-9A-Za-z]|-(?!>))"
mtoken = rf"{mtoken_char}++"

# quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE   ; RFC 9110, for parameters
quoted_string = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*+"'

# parameter = mtoken "=" ( mtoken / quoted-string )
parameter = rf"{mtoken}{OWS}={OWS}(?:{mtoken}|{quoted_string})"

# media-type = mtoken "/" mtoken *( ";" parameter )
media_type = rf"{mtoken}/{mtoken}(?:{OWS};{OWS}{parameter})*"

# alias = JSON / XML / TEXT / CSV / YAML / BINARY / SOAP   ; case-insensitive
alias = rf"(?i:{'|'.join(sorted(ALIASES, key=len, reverse=True))})(?!{mtoken_char}|/)"

# type = alias / media-type
type = rf"(?:{media_type}|{alias})"

# by-io = type "->" type
by_io = rf"{type}{OWS}->{OWS}{type}"

# operation = ident / ident "." ident "." ident   ; Op, or Service.Port.Op
operation = rf"{ident}(?:\.{ident}\.{ident})?+"

# url = urlchar *( urlchar )   ; urlchar: VCHAR except "|", "#" and DQUOTE
url = r"[\x21\x24-\x7b\x7d\x7e]++"

# by-contract = "wsdl:" ( quoted / url ) "#" operation   ; "wsdl:" case-insensitive, as in ABNF
by_contract = rf"(?i:wsdl:)(?:{quoted}|{url})#{operation}"

# stage = by-contract / by-io / by-name
stage = rf"(?:{by_contract}|{by_io}|{by_name})"

# chain = stage *( "|" stage )   ; with OWS at the ends and around "|"
chain = rf"{OWS}{stage}(?:{OWS}\|{OWS}{stage})*{OWS}"

# The parts of a URL that its canonical form rewrites (RFC 3986, section 3).
# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
scheme = r"[A-Za-z][A-Za-z0-9+.\-]*+"
# host = IP-literal / reg-name   (IPv4 addresses are reg-names here)
host = r"(?:\[[0-9A-Za-z:._~!$&'()*+,;=\-]++\]|(?:[A-Za-z0-9._~!$&'()*+,;=\-]|%[0-9A-Fa-f]{2})++)"
# port = *DIGIT
port = r"[0-9]*+"
