"""SQL tables generated from the metadata. Types chosen so values come back in Web API form without work:
GUIDs as lowercase text, datetimes as fixed-width UTC text (`2024-05-01T10:00:00Z`, which also sorts right)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from ..metadata import ALL_TABLES, Attribute, Table
from ..metadata import model as m

INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_instant(value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime(INSTANT_FORMAT)
    return value.strftime("%Y-%m-%dT00:00:00Z")


class Instant(TypeDecorator):
    """A UTC instant stored as `YYYY-MM-DDTHH:MM:SSZ` (Dataverse's precision is whole seconds)."""

    impl = sa.String(20)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or isinstance(value, str):
            return value
        return format_instant(value)


def text_type(length: int) -> sa.types.TypeEngine:
    """Strings compare case-insensitively, as in Dataverse (SQL Server's default collation)."""
    return sa.String(length).with_variant(sa.String(length, collation="NOCASE"), "sqlite")


def sql_type(attr: Attribute) -> sa.types.TypeEngine:
    t = attr.type
    if t == m.UNIQUEIDENTIFIER or t in m.LOOKUP_TYPES:
        return sa.String(36)
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
    if t == m.DOUBLE:
        return sa.Float()
    if t == m.BOOLEAN:
        return sa.Boolean()
    if t == m.DATETIME:
        return Instant()
    raise ValueError(f"no SQL type for {t}")


def build_table(table: Table, metadata: sa.MetaData) -> sa.Table:
    columns = []
    for attr in table.attributes:
        columns.append(sa.Column(attr.logical_name, sql_type(attr), primary_key=attr.logical_name == table.primary_id,
                                 nullable=attr.logical_name != table.primary_id))
        if attr.is_polymorphic:
            columns.append(sa.Column(attr.target_column, sa.String(64)))
    sql_table = sa.Table(table.logical_name, metadata, *columns)
    for attr in table.lookups:
        sa.Index(f"ix_{table.logical_name}_{attr.logical_name}", sql_table.c[attr.logical_name])
    if table.attribute("createdon"):
        sa.Index(f"ix_{table.logical_name}_createdon", sql_table.c.createdon)
    return sql_table


def build_metadata() -> tuple[sa.MetaData, dict[str, sa.Table]]:
    metadata = sa.MetaData()
    tables = {t.logical_name: build_table(t, metadata) for t in ALL_TABLES}
    conv = tables["msdyn_ocliveworkitem"]
    # getConversations' shape: one agent's conversations, by status, newest first.
    sa.Index("ix_msdyn_ocliveworkitem_agent_status_created", conv.c.msdyn_activeagentid, conv.c.statuscode,
             conv.c.createdon.desc(), conv.c.activityid)
    return metadata, tables
