"""Read statements prepared once per shape: a SELECT that SQLAlchemy compiled, with the exact SQL text and bound
parameters it handed the driver, run again on a DB-API cursor (Database.read) without SQLAlchemy's per-execution
work (connection checkout and reset, compiled-cache lookup, execution context, events, result metadata), which
cost more than the query itself for one record. Everything the driver sees is SQLAlchemy's: the text comes from
its compiler and every value stays a bound parameter (nothing is formatted into SQL); values a request changes
(a record's key) are put in the parameter slot SQLAlchemy used for them. Rows come back through the same type
processors SQLAlchemy applies, so they equal its rows."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .database import Database


class Row(tuple):
    """A result row as the rest of the emulator reads sa.Row: by position, `_fields` and `_mapping` (a plain dict
    here, made at its first use and kept: callers look many columns up, and read it only)."""

    _fields: tuple[str, ...] = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        mapping = self.__dict__.get("_m")
        if mapping is None:
            mapping = self.__dict__["_m"] = dict(zip(self._fields, self, strict=True))
        return mapping


@dataclass(frozen=True)
class Prepared:
    """One SELECT as the driver ran it: `sql`, its `parameters` (a tuple or a dict, by the driver's paramstyle),
    the slot of the one per-request value (None: none), and the row type with each column's result processor."""

    statement: sa.Select
    sql: str
    parameters: tuple | dict
    slot: int | str | None
    row: type[Row]
    processors: tuple[tuple[int, Any], ...]

    def rows(self, db: Database, value: object = None) -> list[Any]:  # Rows, read as sa.Row is
        parameters = self.parameters
        slot = self.slot
        if isinstance(slot, int) and isinstance(parameters, tuple):
            parameters = (*parameters[:slot], value, *parameters[slot + 1:])
        elif isinstance(slot, str) and isinstance(parameters, dict):
            parameters = {**parameters, slot: value}
        raw = db.read(self.sql, parameters)
        row, processors = self.row, self.processors
        if not processors:
            return list(map(row, raw))
        out = []
        for r in raw:
            values = list(r)
            for i, process in processors:
                if values[i] is not None:
                    values[i] = process(values[i])
            out.append(row(values))
        return out


def prepare(db: Database, statement: sa.Select, parameters: Mapping[str, object] | None = None,
            value: object = None) -> tuple[Prepared | None, Sequence[sa.Row]]:
    """Run `statement` through SQLAlchemy once (with `parameters`) and note what it sent the driver; its rows, and
    the Prepared statement that repeats it (with `value`, an object among `parameters`, in the slot it took), or
    None when the sent parameters cannot be told apart (the statement then keeps running through SQLAlchemy)."""
    sent: list[tuple[str, Any]] = []

    def note(_conn, _cursor, sql, params, _context, executemany) -> None:
        if not executemany:
            sent.append((sql, params))

    with db.engine.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute", note)
        result = conn.execute(statement, dict(parameters or {}))
        description = result.cursor.description if result.cursor is not None else None
        rows = result.all()
    if len(sent) != 1 or description is None:
        return None, rows
    sql, params = sent[0]
    slot: int | str | None = None
    if value is not None:
        items = list(enumerate(params)) if isinstance(params, (tuple, list)) else list(params.items())
        slots = [k for k, v in items if v is value]
        if len(slots) != 1:
            return None, rows
        slot = slots[0]
    dialect = db.engine.dialect
    columns = list(statement.selected_columns)
    keys = tuple(statement.selected_columns.keys())
    if len(columns) != len(description) or len(set(keys)) != len(keys):
        return None, rows
    processors = tuple((i, p) for i, (column, described) in enumerate(zip(columns, description, strict=True))
                       if (p := column.type.dialect_impl(dialect).result_processor(dialect, described[1])))
    row = type("Row", (Row,), {"_fields": keys})
    frozen = tuple(params) if isinstance(params, (tuple, list)) else dict(params)
    return Prepared(statement, sql, frozen, slot, row, processors), rows
