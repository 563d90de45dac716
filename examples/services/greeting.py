"""A python service, as the README's guide writes it: a function of a message.

Registered with `"target": {"callable": "examples.services.greeting:greet"}` once
`[repository] python_modules` allows `examples.services.*`.
"""

from __future__ import annotations

from igwcore import Message, RequestContext, StageError


def greet(message: Message, request: RequestContext, greeting: str = "Hello") -> Message:
    """`{"name": ...}` in, a line of text out; `greeting` is the descriptor's argument."""
    try:
        name = message.json()["name"]
    except (ValueError, KeyError, TypeError):
        raise StageError('the payload is not {"name": ...}', rejected=True) from None
    text = f"{greeting}, {name}! (request {request.request_id})\n"
    return Message(text.encode(), "text/plain")
