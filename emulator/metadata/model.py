"""Dataverse table metadata as plain data: tables, attributes (columns), option sets, lookups."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# AttributeTypeCode names as Dataverse's metadata uses them.
UNIQUEIDENTIFIER = "Uniqueidentifier"
STRING = "String"
MEMO = "Memo"
INTEGER = "Integer"
BIGINT = "BigInt"
DECIMAL = "Decimal"
DOUBLE = "Double"
BOOLEAN = "Boolean"
DATETIME = "DateTime"
PICKLIST = "Picklist"
STATE = "State"
STATUS = "Status"
MULTISELECT = "MultiSelectPicklist"
LOOKUP = "Lookup"
CUSTOMER = "Customer"
OWNER = "Owner"
ENTITYNAME = "EntityName"

LOOKUP_TYPES = frozenset({LOOKUP, CUSTOMER, OWNER})
CHOICE_TYPES = frozenset({PICKLIST, STATE, STATUS})
STRING_TYPES = frozenset({STRING, MEMO, ENTITYNAME})

EDM_TYPES = {
    UNIQUEIDENTIFIER: "Edm.Guid", STRING: "Edm.String", MEMO: "Edm.String", ENTITYNAME: "Edm.String",
    INTEGER: "Edm.Int32", BIGINT: "Edm.Int64", DECIMAL: "Edm.Decimal", DOUBLE: "Edm.Double",
    BOOLEAN: "Edm.Boolean", DATETIME: "Edm.DateTimeOffset", PICKLIST: "Edm.Int32", STATE: "Edm.Int32",
    STATUS: "Edm.Int32", MULTISELECT: "Edm.String", LOOKUP: "Edm.Guid", CUSTOMER: "Edm.Guid", OWNER: "Edm.Guid",
}


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    state: int | None = None  # for Status options: the statecode the status belongs to
    default_status: int | None = None  # for State options: the statuscode a new row in this state gets


@dataclass(frozen=True)
class OptionSet:
    name: str
    options: tuple[Option, ...]
    is_global: bool = True

    def label(self, value: int) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.label
        return None

    @property
    def values(self) -> frozenset[int]:
        return frozenset(o.value for o in self.options)


@dataclass(frozen=True)
class Attribute:
    """One column. `logical_name` is the SQL column name too; lookups are exposed as `_<name>_value`."""

    logical_name: str
    type: str
    display_name: str
    description: str = ""
    max_length: int | None = None
    precision: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    option_set: OptionSet | None = None
    targets: tuple[str, ...] = ()  # lookups: target table logical names
    navigation: tuple[tuple[str, str], ...] = ()  # lookups: (target table, single-valued navigation property)
    required: str = "None"  # None | ApplicationRequired | SystemRequired
    valid_for_create: bool = True
    valid_for_update: bool = True
    default: Any = None
    true_label: str = "Yes"  # Boolean labels
    false_label: str = "No"

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def is_polymorphic(self) -> bool:
        return self.is_lookup and len(self.targets) > 1

    @property
    def property_name(self) -> str:
        """The Web API property name: `_x_value` for lookups, the logical name otherwise."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name

    @property
    def target_column(self) -> str:
        """SQL column holding the target table of a polymorphic lookup."""
        return f"{self.logical_name}__target"

    @property
    def edm_type(self) -> str:
        return EDM_TYPES[self.type]

    @property
    def read_only(self) -> bool:
        return not (self.valid_for_create or self.valid_for_update)

    def navigation_for(self, target: str) -> str | None:
        return dict(self.navigation).get(target)


@dataclass(frozen=True)
class EntityKey:
    """An alternate key: a row is addressable by these columns' values (`/accounts(accountnumber='A-1')`)."""

    logical_name: str
    attributes: tuple[str, ...]
    display_name: str = ""


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    display_name: str
    display_collection_name: str
    primary_id: str
    primary_name: str
    attributes: tuple[Attribute, ...]
    ownership: str = "UserOwned"
    is_activity: bool = False
    description: str = ""
    keys: tuple[EntityKey, ...] = ()
    change_tracking: bool = True  # EntityMetadata.ChangeTrackingEnabled: deltas offered, deletions remembered
    _by_name: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)
    _by_property: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for a in self.attributes:
            self._by_name[a.logical_name] = a
            self._by_property[a.property_name] = a

    def attribute(self, logical_name: str) -> Attribute | None:
        return self._by_name.get(logical_name)

    def by_property(self, property_name: str) -> Attribute | None:
        """Attribute for a Web API property name (`subject`, `_ownerid_value`); case-sensitive as Dataverse is."""
        return self._by_property.get(property_name)

    @property
    def key(self) -> Attribute:
        return self._by_name[self.primary_id]

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    @property
    def lookups(self) -> list[Attribute]:
        return [a for a in self.attributes if a.is_lookup]

    @property
    def status_attribute(self) -> Attribute | None:
        return self._by_name.get("statuscode")

    @property
    def state_attribute(self) -> Attribute | None:
        return self._by_name.get("statecode")
