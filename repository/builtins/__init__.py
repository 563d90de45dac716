"""The built-in services of SPEC §3, as classes for the `python` kind.

Each class is instantiated once at deploy with its coerced arguments (and the gateway's
`isolation`), `prepare`d when it has such a method (compiling a client's schema or
stylesheet under the isolation) and called once a message. A class's `check_args` runs at
resolution, so a bad argument is 422 `/invalid-parameter` before anything deploys. Linear
work on a payload below `INLINE_LIMIT` runs inline; on a larger one, and all work whose
cost a client's argument decides (a JSON Schema, an XML Schema, a stylesheet), under the
isolation: killable worker processes held to `stage_memory_bytes` (see `support`).

One module a built-in (`logger`, `validator`, `xmlservices` for `xml_validator` and
`xslt`), the two converters together, what they share in `support`, and their entries in
`entries`. The entries name their classes `repository.builtins:Logger` and so on, and
repositories keep those names: the classes are exported from here.
"""

from repository.builtins.converters import JsonToXml, XmlToJson
from repository.builtins.entries import BUILTIN_ENTRIES
from repository.builtins.logger import Logger
from repository.builtins.support import INLINE_LIMIT, Isolation
from repository.builtins.validator import Validator
from repository.builtins.xmlservices import XmlValidator, Xslt

__all__ = [
    "BUILTIN_ENTRIES",
    "INLINE_LIMIT",
    "Isolation",
    "JsonToXml",
    "Logger",
    "Validator",
    "XmlToJson",
    "XmlValidator",
    "Xslt",
]
