"""A scenario's own schema (its `schema` section: custom tables, columns and keys, declared compactly) and rows
generated for any table from its columns' types (its `generate` section): deterministic Faker values that pass the
same validation as a Web API write."""
from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from faker import Faker

from ..clock import format_instant
from ..metadata import Attribute, Catalog, EntityKey, Option, OptionSet, Table
from ..metadata import custom as c
from ..metadata import model as m
from . import ddl
from .database import Database

# Column type words of the `schema` section (the official SDK's words, plus the types it has no word for).
TYPES = {"string": m.STRING, "text": m.STRING, "memo": m.MEMO, "multiline": m.MEMO, "int": m.INTEGER,
         "integer": m.INTEGER, "bigint": m.BIGINT, "decimal": m.DECIMAL, "money": m.MONEY, "float": m.DOUBLE,
         "double": m.DOUBLE, "bool": m.BOOLEAN, "boolean": m.BOOLEAN, "datetime": m.DATETIME, "date": m.DATETIME,
         "choice": m.PICKLIST, "picklist": m.PICKLIST, "choices": m.MULTISELECT, "multiselect": m.MULTISELECT,
         "lookup": m.LOOKUP}
NAME = r"^[a-z][a-z0-9]{1,7}_[a-z0-9][a-z0-9_]*$"
Fail = Callable[[tuple, str], Exception]  # (path under the section, message) -> the scenario's error


def _name(value: Any, path: tuple, fail: Fail, what: str) -> str:
    if not isinstance(value, str) or not re.match(NAME, value):
        raise fail(path, f"'{value}' is not a custom {what} name: a publisher prefix (2-8 lower-case letters or "
                         f"digits), '_', then lower-case letters, digits or '_' (e.g. new_{what})")
    return value


def _column(name: str, spec: Any, table: str, catalog: Catalog, path: tuple, fail: Fail) -> Attribute:
    spec = {"type": spec} if isinstance(spec, str) else spec
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise fail(path, f"must be a type ({', '.join(sorted(TYPES))}) or an object with \"type\"")
    kind = TYPES[spec["type"]]
    values: dict[str, Any] = {"schema_name": name, "required": spec.get("required", "None")}
    display = spec.get("display_name", name.split("_", 1)[1].replace("_", " ").title())
    if kind in (m.STRING, m.MEMO):
        values["max_length"] = spec.get("max_length", 100 if kind == m.STRING else 2000)
    elif kind in (m.INTEGER, m.BIGINT):
        bound = 2147483647 if kind == m.INTEGER else 9223372036854775807
        values.update(min_value=spec.get("min", -bound), max_value=spec.get("max", bound))
    elif kind in (m.DECIMAL, m.DOUBLE, m.MONEY):
        values.update(precision=spec.get("precision", 2), min_value=spec.get("min", -100000000000),
                      max_value=spec.get("max", 100000000000))
    elif kind in (m.PICKLIST, m.MULTISELECT):
        options = spec.get("options")
        if not isinstance(options, dict) or not options:
            raise fail(path + ("options",), "a choice column needs \"options\": {\"<value>\": \"<label>\", ...}")
        try:
            parsed = tuple(sorted((Option(int(v), str(label)) for v, label in options.items()),
                                  key=lambda o: o.value))
        except ValueError:
            raise fail(path + ("options",), "option values are whole numbers") from None
        values["option_set"] = OptionSet(f"{table}_{name}", parsed, is_global=False)
    elif kind == m.LOOKUP:
        target = spec.get("target")
        found = catalog.find(target) if isinstance(target, str) else None
        if found is None:
            raise fail(path + ("target",), f"'{target}' is not a table (a lookup needs \"target\")")
        values.update(targets=(found.logical_name,), navigation=((found.logical_name, name),))
    return Attribute(name, kind, display, **values)


def declare(db: Database, section: Any, fail: Fail) -> None:
    """Create the tables, columns and keys the section declares that the database lacks (by name: a restart or a
    reset finds them there already), in one schema change."""
    if section is None:
        return
    if not isinstance(section, dict) or set(section) - {"tables", "columns"}:
        raise fail((), "must be an object with \"tables\" and/or \"columns\"")

    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        change = ddl.Change()
        tables = section.get("tables") or {}
        if not isinstance(tables, dict):
            raise fail(("tables",), "must be an object of table logical names to definitions")
        extended = catalog
        for logical, spec in tables.items():
            path = ("tables", logical)
            _name(logical, path, fail, "table")
            if catalog.find(logical) is not None:
                continue
            if not isinstance(spec, dict):
                raise fail(path, "must be an object with \"columns\" (and optionally display_name, "
                                 "entity_set, primary_name, keys)")
            primary = spec.get("primary_name", f"{logical.split('_')[0]}_name")
            columns = spec.get("columns") or {}
            attrs = [Attribute(primary, m.STRING, "Name", max_length=100, schema_name=primary, required="None")]
            attrs += [_column(_name(n, path + ("columns", n), fail, "column"), s, logical, extended,
                              path + ("columns", n), fail) for n, s in columns.items() if n != primary]
            keys = tuple(EntityKey(k, tuple(cols), k, schema_name=k) for k, cols in (spec.get("keys") or {}).items())
            for entity_key in keys:
                unknown = [a for a in entity_key.attributes if a not in {x.logical_name for x in attrs}]
                if unknown:
                    raise fail(path + ("keys", entity_key.logical_name), f"not columns of {logical}: {unknown}")
            display = spec.get("display_name", logical.split("_", 1)[1].replace("_", " ").title())
            entity_set = spec.get("entity_set", f"{logical}s")
            header = c.TableHeader(logical, logical, entity_set, display, spec.get("display_collection_name",
                                                                                   display + "s"))
            change.tables[logical] = c.TableDefinition(logical, header, tuple(attrs), keys, primary_name=primary)
            change.ddl.append(ddl.create_table(logical))
            extended = c.layer(extended, [change.tables[logical]])
        columns = section.get("columns") or {}
        if not isinstance(columns, dict):
            raise fail(("columns",), "must be an object of table logical names to {column: type}")
        for logical, specs in columns.items():
            table = extended.find(logical)
            if table is None or not isinstance(specs, dict):
                raise fail(("columns", logical), f"'{logical}' is not a table, or its value is not an object")
            definition = change.tables.get(logical) or stored.definition(logical)
            for name, spec in specs.items():
                if table.attribute(name) is not None:
                    continue
                attr = _column(_name(name, ("columns", logical, name), fail, "column"), spec, logical, extended,
                               ("columns", logical, name), fail)
                definition = definition.with_attribute(attr)
                if logical not in change.tables or change.tables[logical].header is None:
                    change.ddl.append(ddl.add_column(logical, name))
            change.tables[logical] = definition
        return change

    ddl.apply(db, plan)


# --- rows by column type ------------------------------------------------------------------------------------------

def generate(table: Table, count: int, *, seed: int, now: datetime,
             existing: Callable[[str], list[str]]) -> list[dict[str, Any]]:
    """`count` rows for `table`: every writable column it has gets a value of its type (lookups point at rows of
    their target that `existing` returns, or stay empty). Deterministic for a seed."""
    fake = Faker()
    fake.seed_instance(seed)
    pick = random.Random(seed)
    targets = {a.logical_name: existing(a.targets[0]) for a in table.lookups
               if a.valid_for_create and len(a.targets) == 1}
    keyed = {name for entity_key in table.keys for name in entity_key.attributes}
    rows = []
    for i in range(count):
        row: dict[str, Any] = {table.primary_id: str(uuid.UUID(int=pick.getrandbits(128), version=4))}
        for attr in table.attributes:
            if attr.logical_name == table.primary_id or not attr.valid_for_create or attr.type in (m.STATE, m.STATUS):
                continue
            value = _value(attr, fake, pick, now, targets.get(attr.logical_name), i)
            if attr.logical_name in keyed and attr.type in (m.STRING, m.MEMO) and value is not None:
                suffix = f" {i + 1}"  # a key's values are unique
                value = value[:(attr.max_length or 100) - len(suffix)] + suffix
            if value is not None:
                row[attr.logical_name] = value
        rows.append(row)
    return rows


def _value(attr: Attribute, fake: Faker, pick: random.Random, now: datetime, targets: list[str] | None,
           i: int) -> Any:
    t = attr.type
    if t in (m.STRING, m.MEMO):
        text = fake.catch_phrase() if t == m.STRING else fake.paragraph()
        return text[:attr.max_length or 100]
    if t in (m.INTEGER, m.BIGINT):
        low = int(max(attr.min_value if attr.min_value is not None else 0, 0))
        high = int(min(attr.max_value if attr.max_value is not None else 1000, low + 1000))
        return pick.randint(low, max(low, high))
    if t in (m.DECIMAL, m.DOUBLE, m.MONEY):
        floor = float(max(attr.min_value if attr.min_value is not None else 0, 0))
        top = float(min(attr.max_value if attr.max_value is not None else 10000, floor + 10000))
        return round(pick.uniform(floor, top), attr.precision if attr.precision is not None else 2)
    if t == m.BOOLEAN:
        return pick.random() < 0.5
    if t == m.DATETIME:
        return format_instant(now - timedelta(seconds=pick.randint(0, 90 * 86400)))
    if t == m.PICKLIST and attr.option_set is not None:
        return pick.choice(attr.option_set.options).value
    if t == m.MULTISELECT and attr.option_set is not None:
        chosen = sorted({pick.choice(attr.option_set.options).value for _ in range(2)})
        return ",".join(str(v) for v in chosen)
    if attr.is_lookup and targets:
        return targets[i % len(targets)]
    return None
