"""Hints where newcomers stumble: the likely fix of a classic mistake, sent in an `x-emulator-hint` response header
(responses.error_response) while the error body stays exactly Dataverse's. The mistakes:
- a lookup's logical name where the Web API wants its value property (`msdyn_activeagentid` ->
  `_msdyn_activeagentid_value`), or a property name in the wrong case;
- a singular, misspelled or wrongly cased entity set (`account` -> `accounts`), or the API root twice in the URL;
- an unquoted string literal in $filter (`msdyn_title eq Hello`)."""
from __future__ import annotations

import difflib
import re

from flask import request

from .. import metadata
from ..errors import DataverseError, PropertyNotFound, ResourceNotFound
from .routing import HANDLERS

_COMPARISON = r"\b(?:eq|ne|gt|ge|lt|le)\s+"
_WORDS = {"true", "false", "null"}


def attach(error: DataverseError, path: str) -> None:
    """Sets `error.hint` when the error is a classic mistake with a likely fix (never changes anything else)."""
    if error.hint is not None:
        return
    if isinstance(error, PropertyNotFound):
        hint = _property(error.name, error.type_name)
    elif isinstance(error, ResourceNotFound):
        hint = _segment(error.segment, path)
    else:
        hint = _unquoted_words()
    if hint and hint.isascii() and hint.isprintable():  # it goes into a header
        error.hint = hint


def _property(name: str, type_name: str) -> str | None:
    table = metadata.find(type_name.rsplit(".", 1)[-1])
    if table is not None:
        lookup = table.by_property(f"_{name}_value")
        if lookup is not None:
            if not any(_names(option, name) for option in ("$select", "$filter", "$orderby")) \
                    and _names("$expand", name):  # $expand wants the single-valued navigation property
                navigations = [nav for _, nav in lookup.navigation]
                return f"use {' or '.join(navigations)}" if navigations else None
            return f"use _{name}_value"
        attribute = table.attribute(name.lower())
        if attribute is not None:  # property names are case-sensitive
            return f"use {attribute.property_name}"
        lookup = table.by_property(f"_{name.lower()}_value")
        if lookup is not None:
            return f"use {lookup.property_name}"
    if _after_comparison(name):
        return f"quote string literals: '{name}'"
    return None


def _names(option: str, name: str) -> bool:
    return re.search(rf"(?<![\w'.]){re.escape(name)}(?![\w'])", request.args.get(option) or "") is not None


def _after_comparison(word: str) -> bool:
    """`word` stands where a value belongs: after a comparison operator, or as a function's last argument."""
    text = request.args.get("$filter") or ""
    value = re.escape(word) + r"(?![\w'])"
    return re.search(_COMPARISON + value, text) is not None or re.search(r",\s*" + value + r"\s*\)", text) is not None


def _unquoted_words() -> str | None:
    """A $filter syntax error with a bare word after a comparison (`eq Hello World`)."""
    text = request.args.get("$filter") or ""
    for match in re.finditer(_COMPARISON + r"([A-Za-z][\w ]*?[\w])(?=\s*(?:\)|$|\s+(?:and|or)\s))", text):
        words = match.group(1)
        if " " in words and words.split(" ", 1)[0].lower() not in _WORDS:
            return f"quote string literals: '{words}'"
    return None


def _segment(segment: str, path: str) -> str | None:
    first = path.split("/", 1)[0].split("(", 1)[0]
    if segment != first:
        return None
    if segment == "api":
        return "the URL holds /api/data/v9.2/ twice: give clients the org URL (or the Web API root) once"
    table = metadata.find(segment.lower())
    if table is not None:  # a table's logical name (singular) where its entity set name (plural) belongs
        return f"use {table.entity_set}"
    top_level = {kind for kind, _ in HANDLERS if kind[:1].isupper() or kind[:1] == "$"}  # WhoAmI, $metadata...
    names = [t.entity_set for t in metadata.tables()] + sorted(top_level)
    by_lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(segment.lower(), list(by_lower), n=1, cutoff=0.75)
    return f"use {by_lower[close[0]]}" if close else None
