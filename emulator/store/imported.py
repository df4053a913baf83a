"""An org's imported metadata (docs/metadata.md) in the database: the catalog the settings (or the scenario) name,
and the columns an existing database still lacks after the metadata file grew."""
from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from .. import metadata
from ..metadata import cache
from ..settings import Settings
from . import scenario as scenarios
from .database import Database

# the columns of the catalog the database's tables were last checked against (a digest): equal, nothing to check
FINGERPRINT = sa.Table("emulator_imported_columns", sa.MetaData(), sa.Column("columns", sa.String(64)))


def metadata_source(settings: Settings) -> tuple[str | None, str | None]:
    """The metadata file (or directory) and details file to import: the settings', else the scenario's `metadata`
    key (a path relative to the scenario file)."""
    if settings.metadata:
        return settings.metadata, settings.metadata_details
    if not settings.scenario:
        return None, settings.metadata_details
    scenario = scenarios.read(settings.scenario)
    value = scenario.data.get("metadata")
    if value is None:
        return None, settings.metadata_details
    if not isinstance(value, str) or not value.strip():
        raise scenario.error(("metadata",), "must be the path of a $metadata file or of a metadata directory")
    path = Path(value)
    if not path.is_absolute() and Path(scenario.source).is_file():
        path = Path(scenario.source).parent / path
    return str(path), settings.metadata_details


def imported_catalog(settings: Settings) -> metadata.Catalog:
    """The shipped catalog joined by the imported tables (the shipped one when nothing is imported). Raises
    cache.MetadataLoadError (a ValueError) with one line naming the file, line and element."""
    path, details = metadata_source(settings)
    return cache.catalog(path, details) if path else metadata.SHIPPED


def add_missing_columns(db: Database) -> list[str]:
    """Columns of the catalog that an existing table lacks (the metadata file gained them since the database was
    made), added with ALTER TABLE ... ADD COLUMN (no table rewrite on either backend: the columns are nullable
    and have no default). Only when the catalog is not the shipped one. Returns `table.column` of each added."""
    if db.catalog is metadata.SHIPPED:
        return []
    fingerprint = hashlib.blake2b("\n".join(f"{t.logical_name}:{','.join(a.logical_name for a in t.attributes)}"
                                             for t in db.catalog.tables).encode(), digest_size=16).hexdigest()
    with db.engine.begin() as conn:
        FINGERPRINT.create(conn, checkfirst=True)
        if conn.execute(sa.select(FINGERPRINT.c.columns)).scalar() == fingerprint:
            return []  # the database was made (or brought up to date) with these very columns
    if db.is_sqlite:
        query = sa.text("SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                        "WHERE m.type = 'table'")
    else:
        query = sa.text("SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema()")
    with db.engine.connect() as conn:
        existing: dict[str, set[str]] = {}
        for table_name, column in conn.execute(query):
            existing.setdefault(table_name, set()).add(column)
    added = []
    preparer = db.engine.dialect.identifier_preparer
    with db.engine.begin() as conn:
        for table in db.catalog.tables:
            have = existing.get(table.logical_name)
            if have is None:
                continue  # created whole by create_schema
            wanted = [a.logical_name for a in table.attributes] + [a.target_column for a in table.attributes
                                                                   if a.is_polymorphic]
            if all(name in have for name in wanted):
                continue  # (the SQL table is built only when a column is missing)
            sql_table = db.tables[table.logical_name]
            for column in sql_table.columns:
                if column.name in have:
                    continue
                # identifiers cannot be bound parameters: they are quoted by the dialect; names come from metadata
                conn.execute(sa.text(f"ALTER TABLE {preparer.format_table(sql_table)} ADD COLUMN "
                                     f"{preparer.format_column(column)} "
                                     f"{column.type.compile(dialect=db.engine.dialect)}"))
                added.append(f"{table.logical_name}.{column.name}")
        conn.execute(FINGERPRINT.delete())
        conn.execute(FINGERPRINT.insert().values(columns=fingerprint))
    return added
