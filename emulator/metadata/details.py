"""An `EntityDefinitions` JSON export (schema-breadth.md §2): what CSDL does not say about a table and its columns
(display names, primary name column, ownership, required levels, create/update validity, string lengths, numeric
ranges, choice labels, alternate-key names), read so that csdl.build can merge it.

The file is what `dataverse-emulator metadata pull` writes: `{"value": [<EntityMetadata>, ...]}`, each table with
its `Attributes` (the un-cast expansion, with the type-specific properties of the casts merged into each item:
MaxLength, MinValue, OptionSet...) and its `Keys`. A bare list of tables, or a saved
`GET EntityDefinitions?$expand=Attributes` response, is read the same way; whatever it lacks stays at the CSDL's
defaults."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .model import Option, OptionSet


class DetailsError(ValueError):
    """An EntityDefinitions export the emulator cannot read; the message names the file and the table."""


@dataclass
class Details:
    source: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical name -> EntityMetadata
    attributes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (table, column) -> metadata

    def table(self, logical_name: str) -> dict[str, Any] | None:
        return self.tables.get(logical_name)

    def attribute(self, table: str, column: str) -> dict[str, Any] | None:
        return self.attributes.get((table, column))


def read(path: str | Path) -> Details:
    source = str(path)
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as e:
        raise DetailsError(f"{source}: cannot read the file: {e.strerror or e}") from None
    except orjson.JSONDecodeError as e:
        raise DetailsError(f"{source}: not valid JSON: {e}") from None
    entities = data.get("value") if isinstance(data, dict) else data
    if not isinstance(entities, list):
        raise DetailsError(f"{source}: an EntityDefinitions export is {{\"value\": [<table>, ...]}} or a list of "
                           f"tables")
    details = Details(source)
    for i, entity in enumerate(entities):
        name = entity.get("LogicalName") if isinstance(entity, dict) else None
        if not isinstance(name, str) or not name:
            raise DetailsError(f"{source}: table #{i + 1} has no LogicalName")
        attributes = entity.get("Attributes") or []
        if not isinstance(attributes, list):
            raise DetailsError(f"{source}: table '{name}': Attributes must be a list")
        details.tables[name] = entity
        for attr in attributes:
            column = attr.get("LogicalName") if isinstance(attr, dict) else None
            if not isinstance(column, str):
                raise DetailsError(f"{source}: table '{name}': an attribute has no LogicalName")
            details.attributes[(name, column)] = attr
    return details


def label(value: Any) -> str | None:
    """The text of a Label (`{"UserLocalizedLabel": {"Label": ...}, "LocalizedLabels": [...]}`), or None."""
    if not isinstance(value, dict):
        return None
    user = value.get("UserLocalizedLabel")
    if isinstance(user, dict) and isinstance(user.get("Label"), str):
        return user["Label"]
    for localized in value.get("LocalizedLabels") or ():
        if isinstance(localized, dict) and isinstance(localized.get("Label"), str):
            return localized["Label"]
    return None


def attribute_type(attr: dict[str, Any]) -> str | None:
    """The model's type name for an attribute's AttributeType (a multi-select choice is `Virtual` there)."""
    type_code = attr.get("AttributeType")
    type_name = (attr.get("AttributeTypeName") or {}).get("Value") if isinstance(attr.get("AttributeTypeName"),
                                                                                 dict) else None
    if type_code == "Virtual" and type_name == "MultiSelectPicklistType":
        return "MultiSelectPicklist"
    return type_code if isinstance(type_code, str) else None


def option_set(table: str, column: str, attr: dict[str, Any]) -> OptionSet | None:
    """The choice's options from `OptionSet` (or `GlobalOptionSet`), with state/status links."""
    data = attr.get("OptionSet") or attr.get("GlobalOptionSet")
    if not isinstance(data, dict) or not isinstance(data.get("Options"), list):
        return None
    options = []
    for o in data["Options"]:
        if not isinstance(o, dict) or not isinstance(o.get("Value"), int):
            continue
        options.append(Option(o["Value"], label(o.get("Label")) or str(o["Value"]),
                              state=o.get("State") if isinstance(o.get("State"), int) else None,
                              default_status=o.get("DefaultStatus") if isinstance(o.get("DefaultStatus"), int)
                              else None))
    name = data["Name"] if isinstance(data.get("Name"), str) else f"{table}_{column}"
    return OptionSet(name, tuple(options), is_global=bool(data.get("IsGlobal")))


def boolean_labels(attr: dict[str, Any]) -> tuple[str | None, str | None]:
    data = attr.get("OptionSet")
    if not isinstance(data, dict):
        return None, None
    return (label((data.get("TrueOption") or {}).get("Label")), label((data.get("FalseOption") or {}).get("Label")))


def required_level(attr: dict[str, Any]) -> str | None:
    level = attr.get("RequiredLevel")
    value = level.get("Value") if isinstance(level, dict) else level
    return value if value in ("None", "SystemRequired", "ApplicationRequired", "Recommended") else None


def number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
