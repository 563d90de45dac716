"""The built-in services of SPEC §3, as classes for the `python` kind.

Each class is instantiated once at deploy with its coerced arguments (compiling what it
needs: a schema, a stylesheet, an open log file) and called once a message. A class's
`check_args` runs at resolution, so a bad argument is 422 `/invalid-parameter` before
anything deploys. Work that grows with the payload runs inline below `INLINE_LIMIT` and in
a worker thread above it, so a big document never stalls the event loop; work whose cost a
client's argument decides (a stylesheet, a schema's regular expressions) always runs in a
worker thread.

One module a built-in (`logger`, `validator`, `xmlservices` for `xml_validator` and
`xslt`), the two converters together, what they share in `support`, and their entries in
`entries`. The entries name their classes `repository.builtins:Logger` and so on, and
repositories keep those names: the classes are exported from here.
"""

from repository.builtins.converters import JsonToXml, XmlToJson
from repository.builtins.entries import BUILTIN_ENTRIES
from repository.builtins.logger import Logger
from repository.builtins.support import INLINE_LIMIT, offload
from repository.builtins.validator import Validator
from repository.builtins.xmlservices import XmlValidator, Xslt

__all__ = [
    "BUILTIN_ENTRIES",
    "INLINE_LIMIT",
    "JsonToXml",
    "Logger",
    "Validator",
    "XmlToJson",
    "XmlValidator",
    "Xslt",
    "offload",
]
