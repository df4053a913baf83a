"""Rewrites Dataverse's additions to OData expression syntax into what odata-query's lexer reads:
`@p1` parameter aliases become their values, and JSON-style `[...]` arrays (with "double-quoted" strings)
become OData lists `(...)` (a one-item list needs a trailing comma there)."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ..errors import BadRequest

_ALIAS = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*")
ORDER_TERM = re.compile(r"^\s*(\S+?)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)  # one $orderby term
_IN_BEFORE = re.compile(r"(?:^|[\s)])in\s*$")  # `... in (` : the parenthesis opens a list


def aliases_from(args: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in args.items() if k.startswith("@")}


def rewrite(text: str, aliases: Mapping[str, str], option: str = "$filter", _depth: int = 0) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    brackets: list[int] = []  # per open '[': number of top-level items seen so far (commas)
    # `x in (1)` is a one-item list in OData; odata-query reads one only as `(1,)`. Per open '(': [commas, start]
    # when it opens an `in` list, else None; `opened` says which of '[' and '(' is innermost.
    parens: list[list[int] | None] = []
    opened: list[str] = []
    while i < n:
        ch = text[i]
        if ch == "'":  # OData string literal; '' is an escaped quote
            j = i + 1
            while j < n:
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise BadRequest(f"There is an unterminated literal at position {n} in '{text}'.")
            out.append(text[i:j + 1])
            i = j + 1
        elif ch == '"' and brackets:  # JSON string inside an array
            try:
                value, end = json.JSONDecoder().raw_decode(text, i)
            except ValueError:
                raise BadRequest(f"There is an unterminated literal at position {n} in '{text}'.") from None
            if not isinstance(value, str):
                raise BadRequest(f"Invalid JSON array in '{text}'.")
            out.append("'" + value.replace("'", "''") + "'")
            i = end
        elif ch == "@":
            match = _ALIAS.match(text, i)
            if not match:
                raise BadRequest(f"Syntax error: character '@' is not valid at position {i} in '{text}'.")
            name = match.group(0)
            value = aliases.get(name)
            if value is None or value.strip() == "":
                out.append("null")  # an alias with no value counts as null
            else:
                if _depth > 4:
                    raise BadRequest(f"The parameter alias '{name}' refers to itself in {option}.")
                out.append(rewrite(value, aliases, option, _depth + 1))
            i = match.end()
        elif ch == "(":
            parens.append([0, len(out)] if _IN_BEFORE.search(text[max(0, i - 24):i]) else None)
            opened.append("(")
            out.append(ch)
            i += 1
        elif ch == ")":
            if opened and opened[-1] == "(":
                opened.pop()
                entry = parens.pop()
                if entry is not None and entry[0] == 0 and "".join(out[entry[1] + 1:]).strip():
                    out.append(",")
            out.append(ch)
            i += 1
        elif ch == "[":
            opened.append("[")
            brackets.append(0)
            out.append("(")
            i += 1
        elif ch == "]":
            if not brackets:
                raise BadRequest(f"Syntax error: character ']' is not valid at position {i} in '{text}'.")
            commas = brackets.pop()
            if opened and opened[-1] == "[":
                opened.pop()
            body = "".join(out).rsplit("(", 1)[-1].strip()
            if not body:
                raise BadRequest(f"An empty array is not valid at position {i} in '{text}'.")
            if body.endswith(","):  # JSON has no trailing comma
                raise BadRequest(f"Invalid JSON. A value was expected before ']' at position {i} in '{text}'.")
            out.append(",)" if commas == 0 else ")")
            i += 1
        else:
            if ch == "," and opened and opened[-1] == "[":
                brackets[-1] += 1
            elif ch == "," and opened and parens[-1] is not None:
                parens[-1][0] += 1
            out.append(ch)
            i += 1
    if brackets:
        raise BadRequest(f"Invalid JSON. An unexpected end of input was found in '{text}'.")
    return "".join(out)


def _fix_three_named_params() -> None:
    """odata-query 0.10 reduces `f(A=1,B=2,C=3)` with `p.list_items`, a symbol the rule does not have
    (AttributeError); three or more named parameters then fail. Swap in the intended reduction."""
    from odata_query.grammar import ODataParser

    def list_named_param(parser, p):
        return p[0] + [p[4]]

    for production in ODataParser._grammar.Productions:
        if production is not None and production.name == "list_named_param" and \
                production.prod and production.prod[0] == "list_named_param":
            production.func = list_named_param


_fix_three_named_params()
