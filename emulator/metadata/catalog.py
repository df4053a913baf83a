"""The catalog: every table one emulator serves (shipped, imported from an org's metadata, created at run time), and
which catalog is current. A catalog never changes; a schema change builds a new one and swaps it in, so a request
sees one consistent schema from start to end."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar, Token

from .model import Relationship, Table
from .tables import ALL_TABLES


class Catalog:
    def __init__(self, tables: Iterable[Table], relationships: Iterable[Relationship] = ()) -> None:
        self.tables: tuple[Table, ...] = tuple(tables)
        self.relationships: tuple[Relationship, ...] = tuple(relationships)  # those created at run time
        self._by_logical_name = {t.logical_name: t for t in self.tables}
        self._by_entity_set = {t.entity_set: t for t in self.tables}

    def relationship(self, schema_name: str) -> Relationship | None:
        """A run-time relationship by schema name (case-insensitive, as Dataverse's names are unique so)."""
        wanted = schema_name.lower()
        return next((r for r in self.relationships if r.logical_name == wanted), None)

    def find(self, logical_name: str) -> Table | None:
        return self._by_logical_name.get(logical_name)

    def table(self, logical_name: str) -> Table:
        """The table of that logical name; KeyError when there is none (callers that take names from users
        use `find`)."""
        return self._by_logical_name[logical_name]

    def by_entity_set(self, name: str) -> Table | None:
        return self._by_entity_set.get(name)

    def replaced(self, add: Iterable[Table] = (), drop: Iterable[str] = ()) -> Catalog:
        """A new catalog with tables added (or redefined, by logical name) and others dropped."""
        added = {t.logical_name: t for t in add}
        gone = set(drop) | set(added)
        dropped = set(drop) - set(added)
        return Catalog([*(t for t in self.tables if t.logical_name not in gone), *added.values()],
                       [r for r in self.relationships if not r.tables & dropped])


SHIPPED = Catalog(ALL_TABLES)

_current: ContextVar[Catalog] = ContextVar("catalog")


def current() -> Catalog:
    """The catalog of the emulator serving this request (or running this command); the shipped one otherwise."""
    return _current.get(SHIPPED)


def activate(catalog: Catalog) -> Token[Catalog]:
    return _current.set(catalog)


def deactivate(token: Token[Catalog]) -> None:
    _current.reset(token)


@contextlib.contextmanager
def use(catalog: Catalog) -> Iterator[Catalog]:
    token = activate(catalog)
    try:
        yield catalog
    finally:
        deactivate(token)
