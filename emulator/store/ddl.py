"""Schema changes at run time: the custom part of the catalog kept in the database (table `emulator_catalog`, one
JSON definition per custom or extended table and per relationship, plus a generation number), the SQL DDL of a
change (CREATE TABLE, ALTER TABLE ADD/DROP COLUMN, CREATE/DROP INDEX, DROP TABLE) run in the same transaction as
the definitions it stores, and the cheap check that lets every process pick up another's change."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateColumn

from ..metadata import Attribute, Catalog, Table
from ..metadata import custom as c
from ..metadata.model import Relationship
from .schema import build_table as build_sql_table
from .schema import key_index_name

if TYPE_CHECKING:
    from .database import Database

_catalog_metadata = sa.MetaData()
CATALOG = sa.Table("emulator_catalog", _catalog_metadata,
                   sa.Column("name", sa.String(200), primary_key=True),  # "" is the generation row
                   sa.Column("kind", sa.String(20), nullable=False),
                   sa.Column("definition", sa.Text),
                   sa.Column("generation", sa.BigInteger, nullable=False))
GENERATION = ""
IntegrityError = sa.exc.IntegrityError  # a change the stored rows refuse (a key over duplicate values)
Step = Callable[[sa.Connection, Catalog, Catalog], None]  # DDL run with the catalogs before and after a change


def ensure(conn: sa.Connection) -> None:
    CATALOG.create(conn, checkfirst=True)
    if conn.execute(sa.select(CATALOG.c.name).where(CATALOG.c.name == GENERATION)).first() is None:
        conn.execute(CATALOG.insert().values(name=GENERATION, kind="generation", generation=0))


@dataclass
class Stored:
    """The custom part as stored: definitions by table, relationships by schema name (lower-cased)."""

    generation: int = 0
    tables: dict[str, c.TableDefinition] = field(default_factory=dict)
    relationships: dict[str, Relationship] = field(default_factory=dict)

    def catalog(self, base: Catalog) -> Catalog:
        return c.layer(base, self.tables.values(), self.relationships.values())

    def definition(self, logical_name: str) -> c.TableDefinition:
        return self.tables.get(logical_name) or c.TableDefinition(logical_name, None)


def read(conn: sa.Connection) -> Stored:
    stored = Stored()
    for name, kind, definition, generation in conn.execute(
            sa.select(CATALOG.c.name, CATALOG.c.kind, CATALOG.c.definition, CATALOG.c.generation)
            .order_by(CATALOG.c.generation, CATALOG.c.name)):
        if name == GENERATION:
            stored.generation = generation
        elif kind == c.TABLE:
            stored.tables[name] = c.definition_from_json(json.loads(definition))
        elif kind == c.RELATIONSHIP:
            relationship = c.relationship_from_json(json.loads(definition))
            stored.relationships[relationship.logical_name] = relationship
    return stored


def generation(conn: sa.Connection) -> int | None:
    """The stored generation (one primary-key read); None when the database has no catalog table yet."""
    try:
        return conn.execute(sa.select(CATALOG.c.generation).where(CATALOG.c.name == GENERATION)).scalar()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None


def load(db: Database) -> None:
    """At start: ensure the catalog table and put the stored custom part over the database's base catalog."""
    with db.engine.begin() as conn:
        ensure(conn)
        stored = read(conn)
    if stored.tables or stored.relationships:
        db.use_catalog(stored.catalog(db.base_catalog), stored.generation)
    else:  # nothing custom: the base catalog's SQL tables stand (cold start stays as it was)
        db.catalog_generation = stored.generation


class GenerationProbe:
    """Reads the stored generation on a DB-API connection of its own, in autocommit, without SQLAlchemy's
    statement machinery: the check every request makes costs one primary-key read (a few microseconds on SQLite,
    one round trip on PostgreSQL), not a pool checkout plus a compiled statement (see docs/decisions.md)."""

    SQL = {"sqlite": "SELECT generation FROM emulator_catalog WHERE name = ''",
           "postgresql": "SELECT generation FROM emulator_catalog WHERE name = ''"}
    _abandoned: list[Any] = []  # probes of a parent process, never closed in a forked child (shared sockets)

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = self.SQL.get(engine.dialect.name)
        self.raw: Any = None
        self.lock = threading.Lock()

    def read(self) -> int | None:
        if self.sql is None:  # another backend: the portable statement
            with self.engine.connect() as conn:
                return generation(conn)
        with self.lock:
            try:
                if self.raw is None:
                    self.raw = self.engine.raw_connection()
                    if self.engine.dialect.name == "postgresql":
                        self.raw.driver_connection.autocommit = True
                cursor = self.raw.cursor()
                try:
                    cursor.execute(self.sql)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                return None if row is None else row[0]
            except Exception:  # a broken or dropped connection: the next request opens another  # noqa: BLE001
                self.close()
                return None

    def close(self) -> None:
        raw, self.raw = self.raw, None
        if raw is not None:
            try:
                raw.invalidate()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def abandon(self) -> None:
        """In a forked child: forget the parent's connection without closing it."""
        if self.raw is not None:
            self._abandoned.append(self.raw)
            self.raw = None


def refresh(db: Database) -> None:
    """Pick up a schema change another process made: one indexed read of the generation, and a reload only when it
    moved."""
    current = db.catalog_probe.read()
    if current is None or current == db.catalog_generation:
        return
    with db.engine.connect() as conn:
        stored = read(conn)
    db.use_catalog(stored.catalog(db.base_catalog), stored.generation)


# --- changes ---------------------------------------------------------------------------------------------------

@dataclass
class Change:
    """What one metadata write does: definitions to store or delete, and DDL to run (in order) against the
    catalog before (`old`) and after (`new`)."""

    tables: dict[str, c.TableDefinition] = field(default_factory=dict)
    relationships: dict[str, Relationship | None] = field(default_factory=dict)  # None: delete
    ddl: list[Step] = field(default_factory=list)


Planner = Callable[[Stored, Catalog], Change]


def apply(db: Database, plan: Planner) -> Catalog:
    """Run one metadata write: lock the generation row, re-read what is stored (another process may have changed
    it), let `plan` validate against that and say what changes, run its DDL and store its definitions, all in one
    transaction; then swap the new catalog in. An error anywhere rolls everything back."""
    with db.transaction() as conn:
        conn.execute(CATALOG.update().where(CATALOG.c.name == GENERATION)
                     .values(generation=CATALOG.c.generation + 1))
        stored = read(conn)
        old = stored.catalog(db.base_catalog)
        change = plan(stored, old)
        for name, definition in change.tables.items():
            if definition.empty:
                stored.tables.pop(name, None)
            else:
                stored.tables[name] = definition
        for name, relationship in change.relationships.items():
            if relationship is None:
                stored.relationships.pop(name, None)
            else:
                stored.relationships[name] = relationship
        new = stored.catalog(db.base_catalog)
        for step in change.ddl:
            step(conn, old, new)
        for name, definition in change.tables.items():
            conn.execute(CATALOG.delete().where(CATALOG.c.name == name))
            if not definition.empty:
                conn.execute(CATALOG.insert().values(name=name, kind=c.TABLE, generation=stored.generation,
                                                     definition=json.dumps(c.definition_json(definition))))
        for name, relationship in change.relationships.items():
            row = f"{c.RELATIONSHIP}:{name}"
            conn.execute(CATALOG.delete().where(CATALOG.c.name == row))
            if relationship is not None:
                conn.execute(CATALOG.insert().values(name=row, kind=c.RELATIONSHIP, generation=stored.generation,
                                                     definition=json.dumps(c.relationship_json(relationship))))
    db.use_catalog(new, stored.generation)
    return new


# --- DDL steps (SQLAlchemy constructs; names come from validated metadata, values are never inlined) ----------

def _sql_table(table: Table) -> sa.Table:
    return build_sql_table(table, sa.MetaData())


def create_table(logical_name: str) -> Step:
    """CREATE TABLE with its indexes (lookups, createdon, alternate keys)."""
    def step(conn: sa.Connection, _old: Catalog, new: Catalog) -> None:
        _sql_table(new.table(logical_name)).create(conn)
    return step


def drop_table(logical_name: str) -> Step:
    def step(conn: sa.Connection, old: Catalog, _new: Catalog) -> None:
        _sql_table(old.table(logical_name)).drop(conn)
    return step


def _columns(attr: Attribute) -> list[str]:
    return [attr.logical_name, *([attr.target_column] if attr.is_polymorphic else [])]


def add_column(logical_name: str, attribute: str) -> Step:
    """ALTER TABLE ... ADD COLUMN without a default: neither SQLite nor PostgreSQL rewrites the table."""
    def step(conn: sa.Connection, _old: Catalog, new: Catalog) -> None:
        table = new.table(logical_name)
        sql = _sql_table(table)
        attr = table.attribute(attribute)
        assert attr is not None
        names = _columns(attr)
        preparer = conn.dialect.identifier_preparer
        for name in names:
            column = CreateColumn(sql.c[name]).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(sql)} ADD COLUMN {column}")
        for index in sql.indexes:
            if {col.name for col in index.columns} & set(names):
                index.create(conn)
    return step


def drop_column(logical_name: str, attribute: str) -> Step:
    """Its indexes first (SQLite refuses to drop an indexed column), then ALTER TABLE ... DROP COLUMN."""
    def step(conn: sa.Connection, old: Catalog, _new: Catalog) -> None:
        table = old.table(logical_name)
        sql = _sql_table(table)
        attr = table.attribute(attribute)
        assert attr is not None
        names = _columns(attr)
        for index in sql.indexes:
            if {col.name for col in index.columns} & set(names):
                index.drop(conn)
        preparer = conn.dialect.identifier_preparer
        for name in names:
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(sql)} DROP COLUMN "
                                 f"{preparer.format_column(sql.c[name])}")
    return step


def _key_index(table: Table, key_name: str) -> sa.Index:
    wanted = key_index_name(table, key_name)
    return next(i for i in _sql_table(table).indexes if i.name == wanted)


def create_key(logical_name: str, key_name: str) -> Step:
    """The key's unique index (existing duplicate values make it fail, and the whole change with it)."""
    def step(conn: sa.Connection, _old: Catalog, new: Catalog) -> None:
        _key_index(new.table(logical_name), key_name).create(conn)
    return step


def drop_key(logical_name: str, key_name: str) -> Step:
    def step(conn: sa.Connection, old: Catalog, _new: Catalog) -> None:
        _key_index(old.table(logical_name), key_name).drop(conn)
    return step
