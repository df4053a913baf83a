"""Writes: create, update and delete of rows from Web API bodies checked by validate.py, with server-set columns
and row versions; they run in a transaction of the Database's writer (Database.transaction)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..clock import format_instant
from ..errors import PreconditionFailed, RecordNotFound
from ..metadata import Attribute, Table
from ..metadata import model as m
from .database import Database
from .rows import record_columns
from .validate import apply_state_model, invalid_argument, parse_body, parse_guid, payload_error
from .writer import next_version

__all__ = ["Context", "create", "delete", "fetch", "next_version", "parse_guid", "payload_error", "update"]


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


@dataclass
class Context:
    """Who writes and when."""

    now: datetime
    caller_id: str


def create(conn: sa.Connection, db: Database, table: Table, body: Any, ctx: Context, key: str | None = None) -> str:
    """Insert one row from a Web API body; returns its key. `key` comes from the URL of an upsert."""
    changes = parse_body(conn, db, table, body, creating=True)
    values = changes.values
    body_key = values.pop(table.primary_id, None)
    if key is not None and body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}).")
    key = key or body_key or str(uuid.uuid4())
    sql_table = db.tables[table.logical_name]
    if fetch(conn, db, table, key, [table.key]) is not None:
        raise PreconditionFailed("Cannot insert duplicate key.", code="0x80040237")
    apply_state_model(table, changes, key, None)
    now = format_instant(ctx.now)
    for attr in table.attributes:  # metadata defaults for what the body left out
        if attr.default is not None and attr.logical_name not in values:
            values[attr.logical_name] = attr.default
    values[table.primary_id] = key
    if "createdon" in sql_table.c:
        overridden = values.get("overriddencreatedon")
        values["createdon"] = overridden or now
        if overridden:
            values["overriddencreatedon"] = now  # Dataverse keeps the migration time here
        values["modifiedon"] = now
    for column in ("createdby", "modifiedby"):
        if column in sql_table.c:
            values[column] = ctx.caller_id
    if "versionnumber" in sql_table.c:
        values["versionnumber"] = next_version(conn)
    owner = table.attribute("ownerid")
    if owner is not None and values.get("ownerid") is None:
        values["ownerid"] = ctx.caller_id
        if owner.is_polymorphic:
            values[owner.target_column] = "systemuser"
    if table.is_activity and table.attribute("activitytypecode"):
        values["activitytypecode"] = table.logical_name
    mirror = table.attribute(f"{table.logical_name}id")
    if mirror is not None and mirror is not table.key and mirror.type == m.STRING \
            and values.get(mirror.logical_name) is None:
        values[mirror.logical_name] = key  # msdyn_ocliveworkitemid equals activityid unless given
    try:
        conn.execute(sql_table.insert().values(**values))
    except sa.exc.IntegrityError:  # a parallel writer inserted the same key first (PostgreSQL)
        raise PreconditionFailed("Cannot insert duplicate key.", code="0x80040237") from None
    return key


def update(conn: sa.Connection, db: Database, table: Table, key: str, body: Any, ctx: Context,
           existing: sa.Row | None = None) -> None:
    existing = existing if existing is not None else fetch(conn, db, table, key, lock=True)
    if existing is None:
        raise RecordNotFound(table.logical_name, key)
    changes = parse_body(conn, db, table, body, creating=False)
    values = changes.values
    body_key = values.pop(table.primary_id, None)
    if body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}); a record's key cannot be changed.")
    for attr in table.attributes:
        if attr.required == "SystemRequired" and attr.logical_name in values and values[attr.logical_name] is None \
                and attr.logical_name not in ("statecode",):
            raise invalid_argument(f"Attribute: {attr.logical_name} cannot be set to NULL")
    if "ownerid" in changes.given and values.get("ownerid") is None and table.attribute("ownerid"):
        raise invalid_argument("Attribute: ownerid cannot be set to NULL")
    apply_state_model(table, changes, key, existing)
    sql_table = db.tables[table.logical_name]
    if "modifiedon" in sql_table.c:
        values["modifiedon"] = format_instant(ctx.now)
    if "modifiedby" in sql_table.c:
        values["modifiedby"] = ctx.caller_id
    if "versionnumber" in sql_table.c:
        values["versionnumber"] = next_version(conn, (existing._mapping["versionnumber"] or 0) + 1)
    conn.execute(sql_table.update().where(sql_table.c[table.primary_id] == key).values(**values))


def delete(conn: sa.Connection, db: Database, table: Table, key: str) -> bool:
    sql_table = db.tables[table.logical_name]
    return conn.execute(sql_table.delete().where(sql_table.c[table.primary_id] == key)).rowcount > 0
