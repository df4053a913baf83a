"""The table registry: the tables of the current catalog, by logical name and by entity set name."""
from .catalog import SHIPPED, Catalog, current
from .model import Attribute, EntityKey, Option, OptionSet, Table


def find(logical_name: str) -> Table | None:
    return current().find(logical_name)


def table(logical_name: str) -> Table:
    return current().table(logical_name)


def by_entity_set(name: str) -> Table | None:
    return current().by_entity_set(name)


def tables() -> tuple[Table, ...]:
    return current().tables


__all__ = ["SHIPPED", "Attribute", "Catalog", "EntityKey", "Option", "OptionSet", "Table", "by_entity_set", "current",
           "find", "table", "tables"]
