"""The table registry: every table the emulator serves, by logical name and by entity set name."""
from .model import Attribute, Option, OptionSet, Table
from .tables import ALL_TABLES

BY_LOGICAL_NAME: dict[str, Table] = {t.logical_name: t for t in ALL_TABLES}
BY_ENTITY_SET: dict[str, Table] = {t.entity_set: t for t in ALL_TABLES}


def table(logical_name: str) -> Table:
    return BY_LOGICAL_NAME[logical_name]


__all__ = ["ALL_TABLES", "BY_ENTITY_SET", "BY_LOGICAL_NAME", "Attribute", "Option", "OptionSet", "Table", "table"]
