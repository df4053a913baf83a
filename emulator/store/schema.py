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


MAX_IDENTIFIER = 63  # PostgreSQL's limit on names (SQLite has none)


def index_name(prefix: str, *parts: str) -> str:
    """`<prefix>_<parts>`, shortened with a hash to PostgreSQL's identifier limit (long custom names)."""
    name = "_".join((prefix, *parts))
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[:MAX_IDENTIFIER - 11]}_{digest}"


def key_index_name(table: Table, key_name: str) -> str:
    return index_name("ak", table.logical_name, key_name)


def build_table(table: Table, metadata: sa.MetaData) -> sa.Table:
    columns = []
    for attr in table.attributes:
        columns.append(sa.Column(attr.logical_name, sql_type(attr), primary_key=attr.logical_name == table.primary_id,
                                 nullable=attr.logical_name != table.primary_id))
        if attr.is_polymorphic:
            columns.append(sa.Column(attr.target_column, sa.String(64)))
    sql_table = sa.Table(table.logical_name, metadata, *columns)
    leading = None
    if shape := SHAPE_INDEXES.get(table.logical_name):
        name, parts = shape
        sa.Index(name, *(sql_table.c[c].desc() if descending else sql_table.c[c] for c, descending in parts))
        leading = parts[0][0]
    for attr in table.lookups:
        if attr.logical_name != leading:
            sa.Index(index_name("ix", table.logical_name, attr.logical_name), sql_table.c[attr.logical_name])
    if table.attribute("createdon"):
        sa.Index(index_name("ix", table.logical_name, "createdon"), sql_table.c.createdon)
    if table.change_tracking and table.attribute("versionnumber"):  # a change-tracking delta seeks by version
        sa.Index(index_name("ix", table.logical_name, "versionnumber"), sql_table.c.versionnumber)
    for key in table.keys:  # an alternate key's values are unique (NULLs aside, on both backends)
        sa.Index(key_index_name(table, key.logical_name), *(sql_table.c[a] for a in key.attributes), unique=True)
    return sql_table


class SqlTables(Mapping[str, sa.Table]):
    """The SQL table of every catalog table by logical name, each built when first asked for: an org's imported
    metadata can hold 1,000 tables, and building them all costs seconds a start (docs/metadata.md)."""

    def __init__(self, catalog: metadata.Catalog, sql_metadata: sa.MetaData) -> None:
        self.catalog = catalog
        self.sql_metadata = sql_metadata
        self._built: dict[str, sa.Table] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> sa.Table:
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
        return (t.logical_name for t in self.catalog.tables)

    def __len__(self) -> int:
        return len(self.catalog.tables)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.catalog.find(name) is not None


def build_metadata(catalog: metadata.Catalog) -> tuple[sa.MetaData, SqlTables]:
    sql_metadata = sa.MetaData()
    return sql_metadata, SqlTables(catalog, sql_metadata)
