"""Rows -> Web API JSON: the @odata.context URL, per-record @odata.etag, lookups as `_x_value`, values in
Dataverse's forms (they are stored that way already), and the annotations the client asked for."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..metadata import Attribute, Table

# (record dict, attribute, row) -> None; adds `<property>@<annotation>` keys before the value
Annotator = Callable[[dict, Attribute, object], None]


@dataclass
class Expansion:
    """An expanded single-valued navigation property for one page: the related row of each referencing row."""

    name: str  # the navigation property, the key the related record is nested under
    parent_key: str  # the referencing table's primary id column
    related: dict[str, tuple[str, object]]  # referencing row's key -> (target logical name, related row)
    attrs: dict[str, list[Attribute]]  # target logical name -> the columns to write
    annotate: dict[str, Annotator | None] = field(default_factory=dict)  # target logical name -> annotator


def context_url(service_root: str, table: Table, select_names: list[str] | None, single: bool = False,
                expand: list[str] | None = None) -> str:
    """`#set`, `#set(col1,col2)`, with expanded navigation properties listed as `nav(col1)` after the columns."""
    url = f"{service_root}$metadata#{table.entity_set}"
    items = [*(select_names or []), *(expand or [])]
    if items:
        url += f"({','.join(items)})"
    return url + ("/$entity" if single else "")


def etag(version: object) -> str:
    return f'W/"{version}"'


def records(attrs: list[Attribute], rows: Sequence, annotate: Annotator | None = None,
            expansions: list[Expansion] | None = None) -> list[dict]:
    """`record` for each row; without annotations or $expand, with the column positions looked up once per page."""
    if annotate is not None or expansions or not rows:
        return [record(attrs, row, annotate, expansions) for row in rows]
    position = {name: i for i, name in enumerate(rows[0]._fields)}
    columns = [(attr.property_name, position[attr.logical_name]) for attr in attrs]
    version = position.get("versionnumber")
    out = []
    for row in rows:
        item: dict = {"@odata.etag": f'W/"{row[version]}"'} if version is not None else {}
        for name, i in columns:
            item[name] = row[i]
        out.append(item)
    return out


def record(attrs: list[Attribute], row, annotate: Annotator | None = None,
           expansions: list[Expansion] | None = None) -> dict:
    mapping = row._mapping
    out: dict = {"@odata.etag": etag(mapping["versionnumber"])} if "versionnumber" in mapping else {}
    for attr in attrs:
        value = mapping[attr.logical_name]
        if annotate is not None and value is not None:
            annotate(out, attr, row)
        out[attr.property_name] = value
    for expansion in expansions or ():
        found = expansion.related.get(mapping[expansion.parent_key])
        if found is None:
            out[expansion.name] = None  # empty lookup (or, for a polymorphic one, another target table)
            continue
        target, related = found
        out[expansion.name] = record(expansion.attrs[target], related, expansion.annotate.get(target))
    return out
