"""Writes from Web API bodies: validate.py checks and converts them, records.py writes them; they run in a
transaction of the Database's writer (Database.transaction)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import RecordNotFound
from ..metadata import Attribute, Table
from . import records
from .database import Database
from .records import Context, delete
from .rows import record_columns
from .validate import invalid_argument, parse_body, parse_guid, payload_error

__all__ = ["Context", "create", "delete", "fetch", "parse_guid", "payload_error", "update"]


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


def create(conn: sa.Connection, db: Database, table: Table, body: Any, ctx: Context, key: str | None = None) -> str:
    """Insert one row from a Web API body; returns its key. `key` comes from the URL of an upsert."""
    values = parse_body(conn, db, table, body, creating=True)
    body_key = values.pop(table.primary_id, None)
    if key is not None and body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}).")
    return records.create(conn, db, table, values, ctx, key or body_key)


def update(conn: sa.Connection, db: Database, table: Table, key: str, body: Any, ctx: Context,
           existing: sa.Row | None = None) -> None:
    """Change one row from a Web API body; `existing` is the row when the caller has read (and locked) it."""
    existing = existing if existing is not None else fetch(conn, db, table, key, lock=True)
    if existing is None:
        raise RecordNotFound(table.logical_name, key)
    values = parse_body(conn, db, table, body, creating=False)
    body_key = values.pop(table.primary_id, None)
    if body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}); a record's key cannot be changed.")
    records.update(conn, db, table, key, values, ctx, existing._mapping)
