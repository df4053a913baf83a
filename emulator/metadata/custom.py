"""The custom part of a catalog: tables, columns, keys and relationships created at run time (or declared by a
scenario), as JSON-able definitions that the database stores and every process layers onto its base catalog."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from . import optionsets as os_
from .catalog import Catalog
from .model import (
    Attribute,
    EntityKey,
    Option,
    OptionSet,
    Relationship,
    Table,
)
from .tables.columns import On, key, state_model

TABLE, RELATIONSHIP = "table", "relationship"


@dataclasses.dataclass(frozen=True)
class TableHeader:
    """What a custom table's definition says beyond its columns; its key, bookkeeping and state columns follow
    from it (as Dataverse adds them to every new table)."""

    logical_name: str
    schema_name: str
    entity_set: str
    display_name: str
    display_collection_name: str
    description: str = ""
    ownership: str = "UserOwned"  # UserOwned | OrganizationOwned
    object_type_code: int | None = None
    is_intersect: bool = False
    change_tracking: bool = False  # ChangeTrackingEnabled: off unless the definition turns it on, as in Dataverse

    @property
    def primary_id(self) -> str:
        return f"{self.logical_name}id"


@dataclasses.dataclass(frozen=True)
class TableDefinition:
    """One stored row: a custom table (header set) or a shipped/imported table extended with columns and keys
    (header None). `attributes` are the custom columns in creation order (a custom table's primary name first)."""

    logical_name: str
    header: TableHeader | None
    attributes: tuple[Attribute, ...] = ()
    keys: tuple[EntityKey, ...] = ()
    primary_name: str = ""

    def with_attribute(self, attr: Attribute) -> TableDefinition:
        return dataclasses.replace(self, attributes=(*self.attributes, attr))

    def without_attribute(self, logical_name: str) -> TableDefinition:
        return dataclasses.replace(self, attributes=tuple(a for a in self.attributes
                                                          if a.logical_name != logical_name),
                                   keys=tuple(k for k in self.keys if logical_name not in k.attributes))

    def with_key(self, entity_key: EntityKey) -> TableDefinition:
        return dataclasses.replace(self, keys=(*self.keys, entity_key))

    def without_key(self, logical_name: str) -> TableDefinition:
        return dataclasses.replace(self, keys=tuple(k for k in self.keys if k.logical_name != logical_name))

    @property
    def empty(self) -> bool:
        return self.header is None and not self.attributes and not self.keys


def build_table(definition: TableDefinition, base: Table | None) -> Table:
    """The Table a definition makes: a custom table with its key, primary name, custom, bookkeeping and state
    columns; or `base` with the custom columns and keys added."""
    header = definition.header
    if header is None:
        if base is None:
            raise KeyError(definition.logical_name)
        return dataclasses.replace(base, attributes=(*base.attributes, *definition.attributes),
                                   keys=(*base.keys, *definition.keys), _by_name={}, _by_property={})
    logical = header.logical_name
    if header.is_intersect:
        attrs = [key(header.primary_id, header.display_name), *definition.attributes]
    else:
        attrs = [key(header.primary_id, header.display_name), *definition.attributes,
                 *On(logical).bookkeeping(header.ownership == "UserOwned"),
                 *state_model(os_.RECORD_STATE, os_.RECORD_STATUS)]
    return Table(logical, header.entity_set, header.display_name, header.display_collection_name,
                 header.primary_id, definition.primary_name or header.primary_id, tuple(attrs),
                 ownership=header.ownership, description=header.description, keys=definition.keys,
                 schema_name=header.schema_name, is_custom=True, is_intersect=header.is_intersect,
                 object_type_code=header.object_type_code, change_tracking=header.change_tracking)


def layer(base: Catalog, definitions: Iterable[TableDefinition],
          relationships: Iterable[Relationship] = ()) -> Catalog:
    """`base` with the custom definitions applied (a definition for a table `base` lacks and that is no custom
    table is skipped: the base changed under a stored extension)."""
    tables = []
    for definition in definitions:
        found = base.find(definition.logical_name)
        if definition.header is None and found is None:
            continue
        tables.append(build_table(definition, found))
    catalog = base.replaced(add=tables)
    known = {t.logical_name for t in catalog.tables}
    return Catalog(catalog.tables, [*base.relationships, *(r for r in relationships if r.tables <= known)])


# --- JSON ------------------------------------------------------------------------------------------------------

def _fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    return {k: v for k, v in data.items() if k in names}


def attribute_json(attr: Attribute) -> dict[str, Any]:
    out = {f.name: getattr(attr, f.name) for f in dataclasses.fields(attr)}
    option_set = attr.option_set
    out["option_set"] = None if option_set is None else {
        "name": option_set.name, "is_global": option_set.is_global,
        "options": [dataclasses.asdict(o) for o in option_set.options]}
    out["targets"] = list(attr.targets)
    out["navigation"] = [list(pair) for pair in attr.navigation]
    return out


def attribute_from_json(data: dict[str, Any]) -> Attribute:
    values = _fields(Attribute, data)
    raw = values.get("option_set")
    if raw is not None:
        values["option_set"] = OptionSet(raw["name"], tuple(Option(**_fields(Option, o)) for o in raw["options"]),
                                         raw.get("is_global", False))
    values["targets"] = tuple(values.get("targets", ()))
    values["navigation"] = tuple((t, n) for t, n in values.get("navigation", ()))
    return Attribute(**values)


def definition_json(definition: TableDefinition) -> dict[str, Any]:
    return {"logical_name": definition.logical_name, "primary_name": definition.primary_name,
            "header": None if definition.header is None else dataclasses.asdict(definition.header),
            "attributes": [attribute_json(a) for a in definition.attributes],
            "keys": [{**dataclasses.asdict(k), "attributes": list(k.attributes)} for k in definition.keys]}


def definition_from_json(data: dict[str, Any]) -> TableDefinition:
    header = data.get("header")
    return TableDefinition(
        data["logical_name"], None if header is None else TableHeader(**_fields(TableHeader, header)),
        tuple(attribute_from_json(a) for a in data.get("attributes", ())),
        tuple(EntityKey(**{**_fields(EntityKey, k), "attributes": tuple(k["attributes"])})
              for k in data.get("keys", ())),
        data.get("primary_name", ""))


def relationship_json(relationship: Relationship) -> dict[str, Any]:
    out = dataclasses.asdict(relationship)
    out["cascade"] = [list(pair) for pair in relationship.cascade]
    return out


def relationship_from_json(data: dict[str, Any]) -> Relationship:
    values = _fields(Relationship, data)
    values["cascade"] = tuple((a, c) for a, c in values.get("cascade", ()))
    return Relationship(**values)
