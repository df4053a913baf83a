"""Rows -> Web API JSON: the @odata.context URL, per-record @odata.etag, lookups as `_x_value`, values in
Dataverse's forms (they are stored that way already), and the annotations the client asked for."""
from __future__ import annotations

from typing import Callable

from ..metadata import Attribute, Table

# (record dict, attribute, row) -> None; adds `<property>@<annotation>` keys before the value
Annotator = Callable[[dict, Attribute, object], None]


def context_url(service_root: str, table: Table, select_names: list[str] | None, single: bool = False) -> str:
    url = f"{service_root}$metadata#{table.entity_set}"
    if select_names:
        url += f"({','.join(select_names)})"
    return url + ("/$entity" if single else "")


def etag(version: object) -> str:
    return f'W/"{version}"'


def record(attrs: list[Attribute], row, annotate: Annotator | None = None) -> dict:
    mapping = row._mapping
    out: dict = {"@odata.etag": etag(mapping["versionnumber"])} if "versionnumber" in mapping else {}
    for attr in attrs:
        value = mapping[attr.logical_name]
        if annotate is not None and value is not None:
            annotate(out, attr, row)
        out[attr.property_name] = value
    return out
