"""getConversations input -> the one Web API query it becomes (get-conversations.md, decisions 1-5). Pure: every
check runs here, before any request, so a rejected call sends nothing. omnichannel.js mirrors this file."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from . import columns
from .errors import INVALID_ARGUMENT, OmnichannelError

_GUID = re.compile(r"^(\{)?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?(1)\})$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DIGITS = re.compile(r"^[0-9]+$")
MAX_SAFE_INTEGER = 2 ** 53 - 1  # what JavaScript's Number holds exactly; both implementations share the limit
URI_COMPONENT_SAFE = "!~*'()"  # with quote's own "-_.": what encodeURIComponent leaves as is
EXAMPLE_GUID = "2b330c52-6844-4d36-8e05-03c78c9681dc"


@dataclass
class ConversationQuery:
    agent_id: str
    statuses: list[int] = field(default_factory=list)
    created_within_days: int | None = None
    select: list[str] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (property name, descending)

    @property
    def filter(self) -> str:
        parts = [f"_msdyn_activeagentid_value eq {self.agent_id}"]
        if self.statuses:
            values = ",".join(f"'{s}'" for s in self.statuses)
            parts.append(f"Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=[{values}])")
        if self.created_within_days is not None:
            parts.append("Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',"
                         f"PropertyValue={self.created_within_days})")
        return " and ".join(parts)

    def query_string(self) -> str:
        """`$select=..&$filter=..[&$orderby=..]`, values encoded as JavaScript's encodeURIComponent does."""
        options = [("$select", ",".join(self.select)), ("$filter", self.filter)]
        if self.order:
            options.append(("$orderby", ",".join(f"{p} {'desc' if d else 'asc'}" for p, d in self.order)))
        return "&".join(f"{k}={quote(v, safe=URI_COMPONENT_SAFE)}" for k, v in options)


def reject(message: str) -> OmnichannelError:
    return OmnichannelError(message, INVALID_ARGUMENT, None)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, so messages read the same from Python and JavaScript."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def a_type(value: Any) -> str:
    """"a number", "an array", "null": the value's JSON type with its article, for messages."""
    name = json_type(value)
    return name if name == "null" else (f"an {name}" if name[0] in "aeiou" else f"a {name}")


def _number_text(value: int | float) -> str:
    """A number as JavaScript's String() writes it (3, 3.5), for messages that name the value."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _whole(value: Any) -> int | None:
    """A JSON number that is a whole number, as an int; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def parse_input(value: Any) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            shown = value if len(value) <= 50 else value[:50] + "..."
            raise reject(f"input is not valid JSON: {shown}") from None
    if not isinstance(value, dict):
        raise reject(f"input must be an object (or a JSON string of one) with at least agentId, "
                     f"not {a_type(value)}.")
    return value


def agent_id(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise reject("agentId is required: the id (a GUID) of the agent whose conversations to get.")
    if not isinstance(value, str):
        raise reject(f"agentId must be a GUID string, not {a_type(value)}.")
    text = value.strip()
    if not _GUID.match(text):
        raise reject(f"agentId '{value}' is not a GUID such as {EXAMPLE_GUID}.")
    return text.strip("{}").lower()


def _unknown_status(text: str) -> OmnichannelError:
    known = ", ".join(f"{v} {label}" for v, label in columns.STATUS_REASONS.items())
    return reject(f"status value '{text}' is not a known statuscode of msdyn_ocliveworkitem ({known}).")


def statuses(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]  # a lone "2,3" or 3 is read as a one-item list
    if not isinstance(value, (list, tuple)):
        raise reject(f"status must be an array of status reason values such as [3] or [\"2,3\"], "
                     f"not {a_type(value)}.")
    out: list[int] = []
    for item in value:
        if isinstance(item, str):
            pieces = [p.strip() for p in item.split(",")]
            for piece in pieces:
                if not _INTEGER.match(piece) or int(piece) not in columns.STATUS_REASONS:
                    raise _unknown_status(piece)
                out.append(int(piece))
        elif (whole := _whole(item)) is not None and whole in columns.STATUS_REASONS:
            out.append(whole)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            raise _unknown_status(_number_text(item))
        else:
            raise reject(f"status values must be numbers or numeric strings, not {a_type(item)}.")
    return list(dict.fromkeys(out))


def created_within_days(value: Any) -> int | None:
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, str):
        if _DIGITS.match(value.strip()):
            number = int(value.strip())
        shown = f"'{value}'"
    else:
        number = _whole(value)
        shown = _number_text(value) if json_type(value) == "number" else a_type(value)
    if number is None or number < 0 or number > MAX_SAFE_INTEGER:
        raise reject(f"createdBeforeDays must be a whole number of days, 0 or more (conversations created "
                     f"within the last N days), not {shown}.")
    return number


def _column(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.strip():
        shown = "an empty string" if isinstance(name, str) else a_type(name)
        raise reject(f"{where} must be a column name of msdyn_ocliveworkitem, not {shown}.")
    resolved = columns.resolve(name)
    if resolved is None:
        raise reject(f"{where} '{name}' is not a column of msdyn_ocliveworkitem.")
    return resolved


def select(value: Any) -> list[str]:
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)):
        raise reject(f"attributes must be an array of column names, not {a_type(value)}.")
    names = [_column(item, "attribute") for item in value]
    names += [_column(name, "attribute") for name in columns.DEFAULT_ATTRIBUTES]  # all known columns
    return list(dict.fromkeys(names))


def order(value: Any) -> list[tuple[str, bool]]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise reject(f"orderBy must be an array of {{attributeName, descending}} objects, "
                     f"not {a_type(value)}.")
    terms = []
    for item in value:
        if not isinstance(item, dict):
            raise reject(f"orderBy entries must be objects such as {{\"attributeName\":\"createdon\","
                         f"\"descending\":true}}, not {a_type(item)}.")
        name = item.get("attributeName")
        descending = item.get("descending")
        if descending is None:
            descending = False
        if not isinstance(descending, bool):
            raise reject(f"orderBy descending must be true or false, not {a_type(descending)}.")
        terms.append((_column(name, "orderBy attributeName"), descending))
    return terms


def build(value: Any) -> ConversationQuery:
    """Validate getConversations' input (dict or JSON string) and return the query it becomes."""
    data = parse_input(value)
    return ConversationQuery(agent_id=agent_id(data.get("agentId")), statuses=statuses(data.get("status")),
                             created_within_days=created_within_days(data.get("createdBeforeDays")),
                             select=select(data.get("attributes")), order=order(data.get("orderBy")))
