"""$select: the columns a request names, checked against the table (also the nested $select of $expand)."""
from __future__ import annotations

from ..errors import BadRequest, PropertyNotFound
from ..metadata import Attribute, Table


def parse_select(table: Table, text: str | None) -> tuple[list[Attribute] | None, list[str] | None]:
    if text is None or text.strip() in ("", "*"):
        return None, None
    attrs: list[Attribute] = []
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            raise BadRequest(f"The $select query option '{text}' has an empty item.")
        attr = table.by_property(name)
        if attr is None:
            raise PropertyNotFound(name, table.type_name)
        if not any(a is attr for a in attrs):  # by identity: Attribute's == compares every field
            attrs.append(attr)
            names.append(name)
    return attrs, names
