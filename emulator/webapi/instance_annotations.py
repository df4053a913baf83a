"""Instance annotations asked for with Prefer: odata.include-annotations (FormattedValue, lookuplogicalname,
associatednavigationproperty). Without the header, records carry none. Formats: docs/decisions.md, Annotations."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import metadata
from ..clock import parse_instant
from ..metadata import Attribute
from ..metadata import model as m
from ..odata.serialize import Annotator
from ..store.related import primary_names
from .prefer import Preferences

if TYPE_CHECKING:
    from ..server import Emulator

FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue"
NAVIGATION_PROPERTY = "Microsoft.Dynamics.CRM.associatednavigationproperty"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"


# A column of a page's rows: its attribute, the row label holding its value, and the prefix of its table's labels
# (`<link alias>.` for a FetchXML link-entity's column, "" for the root table's).
Column = tuple[Attribute, str, str]


def lookup_target(attr: Attribute, row, prefix: str = "") -> str | None:
    """The table a lookup value points to: the only target, or the hidden `<lookup>__target` column."""
    if not attr.is_polymorphic:
        return attr.targets[0]
    return row._mapping.get(prefix + attr.target_column)


def lookup_values(rows: Iterable, columns: list[Column]) -> dict[str, set[str]]:
    """Target table -> the ids the lookups among `columns` hold in `rows`."""
    wanted: dict[str, set[str]] = {}
    for attr, label, prefix in columns:
        if not attr.is_lookup:
            continue
        for row in rows:
            value, target = row._mapping[label], lookup_target(attr, row, prefix)
            if value is not None and target is not None and metadata.find(target) is not None:
                wanted.setdefault(target, set()).add(value)
    return wanted


def format_datetime(value: str) -> str:
    """en-US user format in UTC, as Dataverse shows a user in UTC: `1/15/2026 12:00 PM`."""
    moment = parse_instant(value)
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def formatted_value(attr: Attribute, value, row, names: dict[tuple[str, str], str], prefix: str = "") -> str | None:
    """The FormattedValue of one non-null value, or None where Dataverse gives none (strings, GUIDs)."""
    t = attr.type
    if t in m.CHOICE_TYPES:
        return attr.option_set.label(value) if attr.option_set else None
    if t == m.MULTISELECT:
        labels = []
        for part in str(value).split(","):
            part = part.strip()
            label = attr.option_set.label(int(part)) if attr.option_set and part.lstrip("-").isdigit() else None
            labels.append(label if label is not None else part)
        return "; ".join(labels)
    if t == m.BOOLEAN:
        return attr.true_label if value else attr.false_label
    if attr.is_lookup:
        target = lookup_target(attr, row, prefix)
        return names.get((target, value)) if target is not None else None
    if t == m.DATETIME:
        return format_datetime(value)
    if t in (m.INTEGER, m.BIGINT):
        return f"{int(value):,}"
    if t in (m.DECIMAL, m.DOUBLE, m.MONEY):
        return f"{float(value):,.{attr.precision if attr.precision is not None else 2}f}"
    if t == m.ENTITYNAME:
        table = metadata.find(value)
        return table.display_name if table else None
    return None


def annotator(emulator: Emulator, prefs: Preferences, rows: Iterable = (),
              attrs: list[Attribute] | None = None, columns: list[Column] | None = None) -> Annotator | None:
    """The annotator for a page of `rows` serialised with `attrs` (or, labelled otherwise, `columns`); lookup names
    are fetched here, in bulk."""
    if not prefs.annotations:
        return None
    formatted = prefs.wants(FORMATTED_VALUE)
    navigation = prefs.wants(NAVIGATION_PROPERTY)
    logical_name = prefs.wants(LOOKUP_LOGICAL_NAME)
    if not (formatted or navigation or logical_name):
        return None
    rows = list(rows)
    columns = columns if columns is not None else [(a, a.logical_name, "") for a in attrs or []]
    names = primary_names(emulator.db, lookup_values(rows, columns)) if formatted else {}

    def annotate(out: dict, attr: Attribute, row, key: str | None = None, prefix: str = "",
                 label: str | None = None) -> None:
        """`key`, `label`, `prefix`: the JSON key, row label and label prefix when not the attribute's own."""
        prop, value = key or attr.property_name, row._mapping[label or attr.logical_name]
        if formatted:
            text = formatted_value(attr, value, row, names, prefix)
            if text is not None:
                out[f"{prop}@{FORMATTED_VALUE}"] = text
        if attr.is_lookup:
            target = lookup_target(attr, row, prefix)
            if target is None:
                return
            nav = attr.navigation_for(target)
            if navigation and nav:
                out[f"{prop}@{NAVIGATION_PROPERTY}"] = nav
            if logical_name:
                out[f"{prop}@{LOOKUP_LOGICAL_NAME}"] = target

    return annotate
