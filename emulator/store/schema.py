"""SQL tables generated from the metadata. Types chosen so values come back in Web API form without work:
GUIDs as lowercase text, datetimes as fixed-width UTC text (`2024-05-01T10:00:00Z`, which also sorts right)."""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CITEXT
from sqlalchemy.types import TypeDecorator

from .. import metadata
from ..clock import format_instant
from ..metadata import Attribute, Table
from ..metadata import model as m


def binary_text(length: int) -> sa.types.TypeEngine:
    """Fixed-form text (GUIDs, instants): byte order, so both backends sort it the same way."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


class Instant(TypeDecorator):
    """A UTC instant stored as `YYYY-MM-DDTHH:MM:SSZ` (Dataverse's precision is whole seconds)."""

    impl = binary_text(20)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or isinstance(value, str):
            return value
        return format_instant(value)


def text_type(length: int) -> sa.types.TypeEngine:
    """Strings compare case-insensitively, as in Dataverse (SQL Server's default collation): NOCASE on SQLite,
    citext on PostgreSQL (which also makes LIKE case-insensitive)."""
    return (sa.String(length).with_variant(sa.String(length, collation="NOCASE"), "sqlite")
            .with_variant(CITEXT(), "postgresql"))


def sql_type(attr: Attribute) -> sa.types.TypeEngine:
    t = attr.type
    if t == m.UNIQUEIDENTIFIER or t in m.LOOKUP_TYPES:
        return binary_text(36)
    if t in m.STRING_TYPES:
        return text_type(attr.max_length or 100)
    if t == m.MULTISELECT:
        return sa.String(1000)
    if t in (m.INTEGER, m.PICKLIST, m.STATE, m.STATUS):
        return sa.Integer()
    if t == m.BIGINT:
        return sa.BigInteger()
    if t == m.DECIMAL:
        return sa.Numeric(23, attr.precision or 2, asdecimal=False)
    if t == m.MONEY:
        return sa.Numeric(23, 4, asdecimal=False)  # Dataverse stores money with 4 decimals, shows `precision`
    if t == m.DOUBLE:
        return sa.Float()
    if t == m.BOOLEAN:
        return sa.Boolean()
    if t == m.DATETIME:
        return Instant()
    raise ValueError(f"no SQL type for {t}")


# Indexes for the real query shapes: table -> (index name, its columns as (column, descending)). A lookup that
# leads one needs no index of its own. getConversations': one agent's conversations, by status, newest first.
SHAPE_INDEXES = {
    "msdyn_ocliveworkitem": ("ix_msdyn_ocliveworkitem_agent_status_created",
                             (("msdyn_activeagentid", False), ("statuscode", False), ("createdon", True),
                              ("activityid", False))),
}


MAX_INDEX_NAME = 48  # PostgreSQL takes 63 characters, and snapshot copies prefix `_snap<n>_`
# Bookkeeping lookups nobody filters on: no index (each index on a million-row table costs seeding time).
UNINDEXED = frozenset({"createdonbehalfby", "modifiedonbehalfby", "owninguser", "owningteam", "owningbusinessunit"})


def index_name(prefix: str, *parts: str) -> str:
    """`<prefix>_<parts>`, or (when long, as custom names can be) its start and a digest of the whole: unique and
    stable, within MAX_INDEX_NAME."""
    name = "_".join((prefix, *parts))
    if len(name) <= MAX_INDEX_NAME:
        return name
    return f"{name[:MAX_INDEX_NAME - 9]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def key_index_name(table: Table, key_name: str) -> str:
    return index_name("ak", table.logical_name, key_name)


def _columns(table: Table) -> list[sa.Column]:
    columns = []
    for attr in table.attributes:
        columns.append(sa.Column(attr.logical_name, sql_type(attr), primary_key=attr.logical_name == table.primary_id,
                                 nullable=attr.logical_name != table.primary_id))
        if attr.is_polymorphic:
            columns.append(sa.Column(attr.target_column, sa.String(64)))
    return columns


def build_table(table: Table, metadata: sa.MetaData) -> sa.Table:
    sql_table = sa.Table(table.logical_name, metadata, *_columns(table))
    leading = None
    if shape := SHAPE_INDEXES.get(table.logical_name):
        name, parts = shape
        sa.Index(name, *(sql_table.c[c].desc() if descending else sql_table.c[c] for c, descending in parts))
        leading = parts[0][0]
    for attr in table.lookups:
        if attr.logical_name != leading and attr.logical_name not in UNINDEXED:
            sa.Index(index_name("ix", table.logical_name, attr.logical_name), sql_table.c[attr.logical_name])
    if table.attribute("createdon"):
        sa.Index(index_name("ix", table.logical_name, "createdon"), sql_table.c.createdon)
    if table.change_tracking and table.attribute("versionnumber"):  # a change-tracking delta seeks by version
        sa.Index(index_name("ix", table.logical_name, "versionnumber"), sql_table.c.versionnumber)
    for key in table.keys:  # an alternate key's values are unique (NULLs aside, on both backends)
        sa.Index(key_index_name(table, key.logical_name), *(sql_table.c[a] for a in key.attributes), unique=True)
    return sql_table


VIEWS = frozenset({"activitypointer"})  # catalog tables served by a view over others (pointer_view)


class SqlTables(Mapping[str, sa.Table]):
    """The SQL table of every catalog table by logical name, each built when first asked for: an org's imported
    metadata can hold 1,000 tables, and building them all costs seconds a start (docs/metadata.md). A view
    (`activitypointer`) is found by `[]`, `get` and `in` like a table, but iterating gives the stored tables only
    (what schema creation, snapshots, exports and resets walk)."""

    def __init__(self, catalog: metadata.Catalog, sql_metadata: sa.MetaData) -> None:
        self.catalog = catalog
        self.sql_metadata = sql_metadata
        self._built: dict[str, sa.Table] = {}
        self._lock = threading.Lock()
        self.views: dict[str, sa.Table] = {}

    def __getitem__(self, name: str) -> sa.Table:
        if name in VIEWS:
            return self.views[name]
        found = self._built.get(name)
        if found is not None:
            return found
        table = self.catalog.find(name)
        if table is None:
            raise KeyError(name)
        with self._lock:
            found = self._built.get(name)
            if found is None:
                found = self._built[name] = build_table(table, self.sql_metadata)
        return found

    def __iter__(self) -> Iterator[str]:
        return (t.logical_name for t in self.catalog.tables if t.logical_name not in VIEWS)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        if name in VIEWS:
            return name in self.views
        return isinstance(name, str) and self.catalog.find(name) is not None


def pointer_view(catalog: metadata.Catalog, tables: Mapping[str, sa.Table], sql_metadata: sa.MetaData
                 ) -> sa.Table | None:
    """`activitypointer` as a view: UNION ALL of its columns over every activity table (NULL where a table has no
    such column), created after the tables and dropped before them. Queries read it like a table; nothing writes it
    (records.py refuses). See docs/decisions.md, "Activities"."""
    from ..metadata.tables import POINTER_SOURCES

    pointer = catalog.find("activitypointer")
    sources = [tables[name] for name in POINTER_SOURCES if name in tables]
    if pointer is None or not sources:
        return None
    view = sa.Table("activitypointer", sa.MetaData(), *_columns(pointer))

    def column(source: sa.Table, c: sa.Column, sqlite: bool) -> sa.ColumnElement:
        if c.name == "activitytypecode":
            # the table's name (records.py sets no other): a constant lets the database skip the branches a filter
            # excludes; compared like text
            name = sa.literal(source.name, sa.String())
            return (name.collate("NOCASE") if sqlite else sa.cast(name, c.type)).label(c.name)
        return source.c[c.name] if c.name in source.c else sa.cast(sa.null(), c.type).label(c.name)

    def create(_target, connection, **_kw) -> None:
        sqlite = connection.dialect.name == "sqlite"
        union = sa.union_all(*(sa.select(*(column(source, c, sqlite) for c in view.c)) for source in sources))
        body = union.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        connection.exec_driver_sql("DROP VIEW IF EXISTS activitypointer")
        connection.exec_driver_sql(f"CREATE VIEW activitypointer AS {body}")

    def drop(_target, connection, **_kw) -> None:
        connection.exec_driver_sql("DROP VIEW IF EXISTS activitypointer")

    sa.event.listen(sql_metadata, "after_create", create)
    sa.event.listen(sql_metadata, "before_drop", drop)
    return view


def build_metadata(catalog: metadata.Catalog) -> tuple[sa.MetaData, SqlTables]:
    sql_metadata = sa.MetaData()
    tables = SqlTables(catalog, sql_metadata)
    view = pointer_view(catalog, tables, sql_metadata)  # builds its source tables, so create_all makes it after them
    if view is not None:
        tables.views["activitypointer"] = view
    return sql_metadata, tables
