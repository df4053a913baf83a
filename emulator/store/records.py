"""The record API below the wire format: column values (logical name -> stored value) in, a row out. The columns
the server owns (audit, row version, owner, state/status and metadata defaults, activity type, the key's mirror) are
set here only, for the Web API, the simulation, the scenario loader and the seeder's bulk path alike."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..clock import format_instant
from ..errors import BadRequest, PreconditionFailed
from ..metadata import Table
from ..metadata import model as m
from . import changes
from .database import Database
from .validate import invalid_argument
from .writer import next_version

# What `Rules.stamp` returns first, in this order; every table carries them (metadata.tables.system_columns).
AUDIT = ("createdon", "modifiedon", "createdby", "modifiedby", "versionnumber")


@dataclass(frozen=True)
class Context:
    """Who writes and when."""

    now: datetime
    caller_id: str


class Rules:
    """The columns the server sets on one table's rows, worked out once from its metadata (`rules(table)`)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        if any(table.attribute(name) is None for name in AUDIT):
            raise ValueError(f"{table.logical_name} lacks the audit columns {', '.join(AUDIT)}")
        self.owner = table.attribute("ownerid")
        owner_columns = () if self.owner is None else \
            ("ownerid", self.owner.target_column) if self.owner.is_polymorphic else ("ownerid",)
        self.stamped = AUDIT + owner_columns  # the columns `stamp` returns, in this order
        self.activity_type = table.logical_name if table.is_activity and table.attribute("activitytypecode") \
            else None
        mirror = table.attribute(f"{table.logical_name}id")  # msdyn_ocliveworkitemid equals activityid unless given
        self.mirror = mirror.logical_name if mirror is not None and mirror is not table.key \
            and mirror.type == m.STRING else None
        self.defaults = tuple((a.logical_name, a.default) for a in table.attributes if a.default is not None)
        self.not_null = tuple(a.logical_name for a in table.attributes
                              if a.required == "SystemRequired" and a.logical_name != "statecode")
        state, status = table.state_attribute, table.status_attribute
        self.initial_state: int = (state.default or 0) if state is not None else 0
        self.states = state.option_set if state is not None and status is not None else None
        self.statuses = status.option_set if status is not None and self.states is not None else None
        self._default_status = {o.value: o.default_status for o in self.states.options} if self.states else {}

    def stamp(self, created: str, modified: str, caller: str, version: int, owner: str | None = None,
              owner_table: str = "systemuser") -> tuple:
        """The values of `stamped` for a row first written at `created` and last at `modified` (stored instants) by
        `caller`, with row version `version`: its owner is the caller unless given (a user unless `owner_table` says
        otherwise). The seeder's bulk path calls this per row; `new_row` does for every other writer."""
        return (created, modified, caller, caller, version, owner or caller,
                owner_table if owner else "systemuser")[:len(self.stamped)]

    def default_status(self, state: int) -> int | None:
        """The statuscode a row entering `state` gets when none is given."""
        return self._default_status.get(state)

    def new_row(self, values: dict[str, Any], key: str, *, when: str, caller: str, version: Callable[[], int],
                created: str | None = None) -> dict[str, Any]:
        """`values` completed in place as a new row written at `when` by `caller`: the key, the state model, metadata
        defaults for what is missing, the audit columns, the next row version (drawn once all checks passed), the
        owner, the activity type and the key's mirror. `created` is when a loaded row (seed, scenario) was first
        written; a client backdates a row through overriddencreatedon instead, which then records `when`."""
        self.apply_state_model(values, key, None)
        for name, default in self.defaults:
            values.setdefault(name, default)
        values[self.table.primary_id] = key
        overridden = values.get("overriddencreatedon")
        if overridden:
            values["overriddencreatedon"] = when  # Dataverse keeps the migration time here
        owner = values.get("ownerid") if self.owner is not None else None
        owner_table = values.get(self.owner.target_column) if self.owner is not None and owner \
            and self.owner.is_polymorphic else None
        values.update(zip(self.stamped, self.stamp(overridden or created or when, when, caller, version(), owner,
                                                   owner_table or "systemuser"), strict=True))
        if self.activity_type is not None:
            values["activitytypecode"] = self.activity_type
        if self.mirror is not None and values.get(self.mirror) is None:
            values[self.mirror] = key
        return values

    def changed_row(self, values: dict[str, Any], existing: Mapping, key: str, *, when: str, caller: str,
                    version: Callable[[], int]) -> dict[str, Any]:
        """`values` completed in place as the changes of `existing` written at `when` by `caller`: required columns
        and the owner stay set (an owner given without its table is a user), the state model, modifiedon, modifiedby
        and the next row version (drawn once all checks passed)."""
        for name in self.not_null:
            if name in values and values[name] is None:
                raise invalid_argument(f"Attribute: {name} cannot be set to NULL")
        if self.owner is not None and "ownerid" in values and values["ownerid"] is None:
            raise invalid_argument("Attribute: ownerid cannot be set to NULL")
        self.apply_state_model(values, key, existing)
        if self.owner is not None and self.owner.is_polymorphic and "ownerid" in values:
            values.setdefault(self.owner.target_column, "systemuser")
        values.update(modifiedon=when, modifiedby=caller, versionnumber=version())
        return values

    def apply_state_model(self, values: dict[str, Any], key: str, existing: Mapping | None) -> None:
        """statecode alone -> its default statuscode; statuscode must belong to the (new or current) statecode. A
        column present with None was given as null."""
        if self.states is None or self.statuses is None:
            return
        current_state = existing["statecode"] if existing is not None else self.initial_state
        state = values.get("statecode")
        if state is None:
            if "statecode" in values and existing is not None:
                raise invalid_argument("Attribute: statecode cannot be set to NULL")
            values.pop("statecode", None)
            state = current_state
            state_given = existing is None
        else:
            state_given = True
        status = values.get("statuscode")
        if status is None:
            if "statuscode" in values and existing is not None and not state_given:
                raise invalid_argument("Attribute: statuscode cannot be set to NULL")
            if state_given:
                values["statecode"] = state
                values["statuscode"] = self.default_status(state)
            else:
                values.pop("statuscode", None)
            return
        owner = next((o.state for o in self.statuses.options if o.value == status), None)
        if owner is not None and owner != state:
            label = self.states.label(state) or str(state)
            raise BadRequest(f"{status} is not a valid status code for state code {self.table.logical_name}State."
                             f"{re.sub(r'[^0-9A-Za-z]', '', label)} on {self.table.logical_name} with Id {key}.",
                             code="0x80048408")
        if state_given:
            values["statecode"] = state


_rules: dict[str, Rules] = {}


def rules(table: Table) -> Rules:
    """The table's rules, made once."""
    found = _rules.get(table.logical_name)
    if found is None or found.table is not table:
        found = _rules[table.logical_name] = Rules(table)
    return found


def _duplicate_key() -> PreconditionFailed:
    return PreconditionFailed("Cannot insert duplicate key.", code="0x80040237")


def create(conn: sa.Connection, db: Database, table: Table, values: dict[str, Any], ctx: Context,
           key: str | None = None) -> str:
    """Insert one row from column values in stored form; returns its key (`key`, else the values', else a new
    GUID)."""
    key = key or values.get(table.primary_id) or str(uuid.uuid4())
    sql_table = db.tables[table.logical_name]
    pk = sql_table.c[table.primary_id]
    if conn.execute(sa.select(pk).where(pk == key)).first() is not None:
        raise _duplicate_key()
    rules(table).new_row(values, key, when=format_instant(ctx.now), caller=ctx.caller_id,
                         version=lambda: next_version(conn))
    try:
        conn.execute(sql_table.insert().values(**values))
    except sa.exc.IntegrityError:  # a parallel writer inserted the same key first (PostgreSQL)
        raise _duplicate_key() from None
    return key


def update(conn: sa.Connection, db: Database, table: Table, key: str, values: dict[str, Any], ctx: Context,
           existing: Mapping) -> None:
    """Change one row's columns (stored form); `existing` is the row as read (and locked) in this transaction."""
    rules(table).changed_row(values, existing, key, when=format_instant(ctx.now), caller=ctx.caller_id,
                             version=lambda: next_version(conn, (existing["versionnumber"] or 0) + 1))
    sql_table = db.tables[table.logical_name]
    conn.execute(sql_table.update().where(sql_table.c[table.primary_id] == key).values(**values))


def delete(conn: sa.Connection, db: Database, table: Table, key: str, *, now: datetime) -> bool:
    """Deletes the row; a change-tracked table remembers the deletion in the same transaction."""
    sql_table = db.tables[table.logical_name]
    if conn.execute(sql_table.delete().where(sql_table.c[table.primary_id] == key)).rowcount == 0:
        return False
    changes.remember_deletion(conn, table, key, now)
    return True
