"""The pieces of HTML every part of the console is written with: its templates, escaping,
a time. Imports nothing of the console, so that each part may import it."""

from __future__ import annotations

import re
from html import escape
from importlib import resources

_BACKTICKED = re.compile(r"`([^`]+)`")


def template(name: str) -> str:
    """The text of templates/NAME."""
    return (resources.files("gateway.console") / "templates" / name).read_text(encoding="utf-8")


def esc(value: object) -> str:
    """`value` as text safe in an element and in a quoted attribute."""
    return escape(str(value), quote=True)


def prose(text: str) -> str:
    """An operator's or a document's description: escaped, its `backticked` words as code."""
    return _BACKTICKED.sub(r"<code>\1</code>", esc(text))


def field_row(label_for: str, label: str, control: str, error: str | None, help: str) -> str:
    """A form's row: its label, its control, and its error (when it has one) or its help."""
    note = (
        f'<span class="help bad">{esc(error)}</span>'
        if error is not None
        else f'<span class="help">{esc(help)}</span>'
    )
    return f'<label for="{label_for}">{esc(label)}</label>{control}{note}'


def time_tag(stamp: str) -> str:
    """An RFC 3339 time as a `<time>`: the date and the time of day, the whole on hover."""
    shown = f"<span>{esc(stamp[:10])}</span> <span>{esc(stamp[11:19])}</span>"
    return f'<time datetime="{esc(stamp)}" title="{esc(stamp)}">{shown}</time>'
