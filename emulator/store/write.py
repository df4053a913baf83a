"""Writes from Web API bodies: validate.py checks and converts them, records.py writes them; they run in a
transaction of the Database's writer (Database.transaction)."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa

from ..errors import RecordNotFound
from ..metadata import Attribute, Table
from . import keys, records
from .database import Database
from .keys import KeyValues
from .records import Context, delete
from .rows import record_columns
from .validate import invalid_argument, parse_body, parse_guid, payload_error, set_lookup

__all__ = ["Context", "KeyValues", "create", "delete", "fetch", "find_key", "parse_guid", "payload_error", "update"]


def fetch(conn: sa.Connection, db: Database, table: Table, key: str, attrs: list[Attribute] | None = None, *,
          lock: bool = False):
    """One row by key; `lock` holds it (SELECT ... FOR UPDATE) until the transaction ends, so a precondition
    checked on it still holds when the write lands (SQLite needs no row lock: it has one writer)."""
    sql_table = db.tables[table.logical_name]
    if attrs is None:
        statement = sa.select(sql_table).where(sql_table.c[table.primary_id] == key)
        return conn.execute(statement.with_for_update() if lock else statement).first()
    statement = sa.select(*record_columns(sql_table, attrs)).where(sql_table.c[table.primary_id] == key)
    return conn.execute(statement.with_for_update() if lock else statement).first()


def create(conn: sa.Connection, db: Database, table: Table, body: Any, ctx: Context, key: str | None = None,
           key_values: Mapping[str, Any] | None = None) -> str:
    """Insert one row from a Web API body; returns its key. `key` comes from the URL of an upsert by id;
    `key_values` from the URL of an upsert by alternate key: they fill the key columns the body leaves out (the
    body's own values win, as in Dataverse)."""
    values = parse_body(conn, db, table, body, creating=True)
    for name, value in (key_values or {}).items():
        if name not in values:
            attr = table.attribute(name)
            if attr is not None and attr.is_lookup:
                set_lookup(conn, db, table, attr, value, values)
            else:
                values[name] = value
    body_key = values.pop(table.primary_id, None)
    if key is not None and body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}).")
    return records.create(conn, db, table, values, ctx, key or body_key)


def update(conn: sa.Connection, db: Database, table: Table, key: str, body: Any, ctx: Context,
           existing: sa.Row | None = None, drop: Collection[str] = ()) -> None:
    """Change one row from a Web API body; `existing` is the row when the caller has read (and locked) it. The
    columns in `drop` are left out (an upsert by alternate key does not change the key it was addressed by)."""
    existing = existing if existing is not None else fetch(conn, db, table, key, lock=True)
    if existing is None:
        raise RecordNotFound(table.logical_name, key)
    values = parse_body(conn, db, table, body, creating=False)
    for name in drop:
        values.pop(name, None)
        attr = table.attribute(name)
        if attr is not None and attr.is_polymorphic:
            values.pop(attr.target_column, None)
    body_key = values.pop(table.primary_id, None)
    if body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}); a record's key cannot be changed.")
    records.update(conn, db, table, key, values, ctx, existing._mapping)


def find_key(conn: sa.Connection, db: Database, kv: KeyValues, *, lock: bool = False):
    """The row an alternate key names (None when there is none), held until the transaction ends with `lock`."""
    found = keys.find(conn, db, kv)
    return None if found is None else fetch(conn, db, kv.table, found, lock=lock)
