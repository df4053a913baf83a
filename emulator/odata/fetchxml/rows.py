"""Rows of a FetchXML answer as Dataverse writes them: nulls left out, aliases and `<link alias>.<column>` keys,
aggregate values as numbers, and the annotations asked for."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .compiler import Column, FetchQuery

FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue"
ATTRIBUTE_NAME = "OData.Community.Display.V1.AttributeName"

Annotate = Callable[..., None]


def number(column: Column, value: Any) -> Any:
    """An aggregate's value as Dataverse writes it: counts and sums of whole-number columns whole, avg of them
    truncated (the docs show 35,200 / 9 as 3,911), others as numbers."""
    if column.function in ("count", "countcolumn", "countdistinct", "dategrouping"):
        return int(value)
    if column.attr.edm_type in ("Edm.Int32", "Edm.Int64"):
        return int(value)
    if column.attr.edm_type in ("Edm.Decimal", "Edm.Double"):
        return float(value)
    return value


def records(query: FetchQuery, rows: Sequence, annotate: Annotate | None, *, attribute_names: bool = False,
            formatted: bool = False) -> list[dict]:
    """Rows as FetchXML answers them: nulls left out, aliases and `<link alias>.<column>` as keys, lookups as
    `_x_value` only when not aliased; an etag on every row that is a record. `annotate` adds the annotations asked
    for; `attribute_names` and `formatted` say whether AttributeName and FormattedValue were."""
    out = []
    record = not query.grouped
    for row in rows:
        mapping = row._mapping
        item: dict = {"@odata.etag": f'W/"{mapping["versionnumber"]}"'} if record else {}
        for column in query.columns:
            value = mapping[column.label]
            if value is None:
                continue
            if column.function is not None:
                if column.function == "dategrouping" or column.function.startswith("count"):
                    if formatted:
                        item[f"{column.key}@{FORMATTED_VALUE}"] = f"{int(value):,}"
                elif annotate is not None:  # formatted as the column's own values
                    annotate(item, column.attr, row, key=column.key, label=column.label)
                item[column.key] = number(column, value)
                continue
            if column.aliased and attribute_names:
                item[f"{column.key}@{ATTRIBUTE_NAME}"] = column.attr.logical_name
            if annotate is not None:
                annotate(item, column.attr, row, key=column.key, prefix=column.prefix, label=column.label)
            item[column.key] = value
        if record and query.table.primary_id not in item:
            item[query.table.primary_id] = mapping[query.table.primary_id]  # the key comes back, asked for or not
        out.append(item)
    return out
