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
MONEY = "Money"

LOOKUP_TYPES = frozenset({LOOKUP, CUSTOMER, OWNER})
CHOICE_TYPES = frozenset({PICKLIST, STATE, STATUS})
STRING_TYPES = frozenset({STRING, MEMO, ENTITYNAME})

EDM_TYPES = {
    UNIQUEIDENTIFIER: "Edm.Guid", STRING: "Edm.String", MEMO: "Edm.String", ENTITYNAME: "Edm.String",
    INTEGER: "Edm.Int32", BIGINT: "Edm.Int64", DECIMAL: "Edm.Decimal", MONEY: "Edm.Decimal", DOUBLE: "Edm.Double",
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
    schema_name: str = ""  # as created (custom columns); "" derives it from the logical name
    format: str = ""  # String/Memo FormatName, DateTime Format ("DateOnly"...); "" is the type's default

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
    schema_name: str = ""  # as created; "" derives it from the logical name


@dataclass(frozen=True)
class Relationship:
    """A relationship created at run time (shipped ones are implied by their lookups). One-to-many: the lookup
    `referencing_attribute` on `referencing_entity` points at `referenced_entity`. Many-to-many: rows of the
    intersect table pair `entity1`'s and `entity2`'s ids."""

    schema_name: str
    kind: str  # OneToManyRelationship | ManyToManyRelationship
    referenced_entity: str = ""
    referenced_attribute: str = ""
    referencing_entity: str = ""
    referencing_attribute: str = ""
    referenced_navigation: str = ""  # the parent's collection-valued navigation property
    referencing_navigation: str = ""  # the child's single-valued navigation property
    cascade: tuple[tuple[str, str], ...] = ()  # CascadeConfiguration as (action, CascadeType)
    entity1: str = ""
    entity2: str = ""
    intersect_entity: str = ""
    entity1_attribute: str = ""
    entity2_attribute: str = ""
    entity1_navigation: str = ""
    entity2_navigation: str = ""

    @property
    def logical_name(self) -> str:
        return self.schema_name.lower()

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(filter(None, (self.referenced_entity, self.referencing_entity, self.entity1,
                                       self.entity2, self.intersect_entity)))


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
    schema_name: str = ""  # as created (custom tables); "" derives it from the logical name
    is_custom: bool = False  # created at run time (or declared by a scenario)
    is_intersect: bool = False  # the hidden table of a many-to-many relationship
    object_type_code: int | None = None
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
