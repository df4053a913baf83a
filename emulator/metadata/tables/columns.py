"""Column builders for the shipped tables, and Dataverse's navigation-property naming (relationships.md §2.2):

- a lookup on an ordinary table: the column name (`primarycontactid`, `createdby`, `ownerid`); a multi-table lookup:
  `<column>_<target>` (`parentcustomerid_account`);
- a lookup on an activity table: `<column>_<activity>` (`createdby_task`, `ownerid_email`); a multi-table lookup:
  `<column>_<target>_<activity>` (`regardingobjectid_account_task`);
- on `activitypointer` itself: as on an ordinary table (`regardingobjectid_account`, `createdby`).
The owner lookup keeps one name for both its targets (`ownerid`, `ownerid_task`). Exceptions are given explicitly."""
from __future__ import annotations

from .. import optionsets as os_
from ..model import (
    BIGINT,
    BOOLEAN,
    CUSTOMER,
    DATETIME,
    DECIMAL,
    DOUBLE,
    ENTITYNAME,
    INTEGER,
    LOOKUP,
    MEMO,
    OWNER,
    PICKLIST,
    STATE,
    STATUS,
    STRING,
    UNIQUEIDENTIFIER,
    Attribute,
    OptionSet,
    Table,
)

INT_MAX = 2147483647
MONEY_MAX = 100000000000000  # schema-breadth.md §6.0: Money 0..100000000000000, precision 2
BASE_MONEY = 922337203685477  # `<money>_base`: precision 4, ±922337203685477 (§5.4)


def nav_names(table: str, activity: bool, column: str, targets: tuple[str, ...], one_name: bool = False
              ) -> tuple[str, ...]:
    """The single-valued navigation property of lookup `column` on `table`, one per target (see the module doc)."""
    suffix = f"_{table}" if activity and table != "activitypointer" else ""
    if len(targets) == 1 or one_name:
        return tuple(f"{column}{suffix}" for _ in targets)
    return tuple(f"{column}_{t}{suffix}" for t in targets)


def key(name: str, display: str) -> Attribute:
    return Attribute(name, UNIQUEIDENTIFIER, display, required="SystemRequired", valid_for_update=False)


def uid(name: str, display: str, read_only: bool = False) -> Attribute:
    return Attribute(name, UNIQUEIDENTIFIER, display, valid_for_create=not read_only, valid_for_update=not read_only)


def text(name: str, display: str, max_length: int = 100, required: str = "None", memo: bool = False,
         read_only: bool = False, create_only: bool = False) -> Attribute:
    return Attribute(name, MEMO if memo else STRING, display, max_length=max_length, required=required,
                     valid_for_create=not read_only, valid_for_update=not (read_only or create_only))


def memo(name: str, display: str, max_length: int = 2000, read_only: bool = False) -> Attribute:
    return text(name, display, max_length, memo=True, read_only=read_only)


def when(name: str, display: str, read_only: bool = False, create: bool = True) -> Attribute:
    return Attribute(name, DATETIME, display, valid_for_create=create and not read_only,
                     valid_for_update=not read_only)


def number(name: str, display: str, min_value: float = 0, max_value: float = INT_MAX, read_only: bool = False,
           required: str = "None") -> Attribute:
    return Attribute(name, INTEGER, display, min_value=min_value, max_value=max_value, required=required,
                     valid_for_create=not read_only, valid_for_update=not read_only)


def bigint(name: str, display: str, read_only: bool = True) -> Attribute:
    return Attribute(name, BIGINT, display, valid_for_create=not read_only, valid_for_update=not read_only)


def decimal(name: str, display: str, precision: int = 2, min_value: float = 0, max_value: float = 100000000000,
            read_only: bool = False) -> Attribute:
    return Attribute(name, DECIMAL, display, precision=precision, min_value=min_value, max_value=max_value,
                     valid_for_create=not read_only, valid_for_update=not read_only)


def money(name: str, display: str, base: bool = True, read_only: bool = False,
          max_value: float = MONEY_MAX) -> list[Attribute]:
    """A Money column (stored as a Decimal of precision 2) and its read-only `_base` copy (docs/decisions.md)."""
    cols = [decimal(name, display, 2, 0, max_value, read_only=read_only)]
    if base:
        cols.append(decimal(f"{name}_base", f"{display} (Base)", 4, -BASE_MONEY, BASE_MONEY, read_only=True))
    return cols


def double(name: str, display: str, min_value: float, max_value: float, precision: int = 5,
           read_only: bool = False) -> Attribute:
    return Attribute(name, DOUBLE, display, precision=precision, min_value=min_value, max_value=max_value,
                     valid_for_create=not read_only, valid_for_update=not read_only)


def flag(name: str, display: str, default: bool = False, true_label: str = "Yes", false_label: str = "No",
         read_only: bool = False, required: str = "None") -> Attribute:
    return Attribute(name, BOOLEAN, display, default=default, true_label=true_label, false_label=false_label,
                     required=required, valid_for_create=not read_only, valid_for_update=not read_only)


def choice(name: str, display: str, option_set: OptionSet | str, default: int | None = None,
           read_only: bool = False, required: str = "None", table: str = "") -> Attribute:
    """A Picklist; `option_set` may be a `choices` spec string (a local option set named `<table>_<name>`)."""
    if isinstance(option_set, str):
        option_set = os_.choices(f"{table}_{name}" if table else name, option_set)
    return Attribute(name, PICKLIST, display, option_set=option_set, default=default, required=required,
                     valid_for_create=not read_only, valid_for_update=not read_only)


def entity_name(name: str, display: str, read_only: bool = False, default: str | None = None) -> Attribute:
    return Attribute(name, ENTITYNAME, display, default=default, valid_for_create=not read_only,
                     valid_for_update=not read_only)


def state_model(state: OptionSet, status: OptionSet) -> list[Attribute]:
    return [Attribute("statecode", STATE, "Status", option_set=state, default=0, required="SystemRequired"),
            Attribute("statuscode", STATUS, "Status Reason", option_set=status)]


class On:
    """The table a column list is for: lookups get their navigation names from it."""

    def __init__(self, table: str, activity: bool = False) -> None:
        self.name = table
        self.activity = activity

    def lookup(self, name: str, display: str, *targets: str, type_: str = LOOKUP, navs: tuple[str, ...] = (),
               read_only: bool = False, create_only: bool = False, required: str = "None",
               description: str = "") -> Attribute:
        if not navs:
            navs = nav_names(self.name, self.activity, name, targets, one_name=type_ == OWNER)
        return Attribute(name, type_, display, description=description, targets=targets,
                         navigation=tuple(zip(targets, navs, strict=True)), required=required,
                         valid_for_create=not read_only, valid_for_update=not (read_only or create_only))

    def customer(self, name: str, display: str, required: str = "None", read_only: bool = False) -> Attribute:
        return self.lookup(name, display, "account", "contact", type_=CUSTOMER, required=required,
                           read_only=read_only)

    def bookkeeping(self, user_owned: bool = True, compact: bool = False) -> list[Attribute]:
        """The columns of schema-breadth.md §5.4 every table carries; UserOwned tables add the owner set. The
        server-set ones (Rules.stamped) come in the order records.py stamps them. `compact`: the conversation's
        set as it shipped before issue 16 (audit, row version, owner), which getConversations' reference clients
        list column by column (docs/decisions.md)."""
        if compact:
            return [when("createdon", "Created On", read_only=True), when("modifiedon", "Modified On", read_only=True),
                    self.lookup("createdby", "Created By", "systemuser", read_only=True),
                    self.lookup("modifiedby", "Modified By", "systemuser", read_only=True),
                    Attribute("overriddencreatedon", DATETIME, "Record Created On", valid_for_update=False,
                              description="Date and time that the record was migrated; sets createdon."),
                    Attribute("versionnumber", BIGINT, "Version Number", valid_for_create=False,
                              valid_for_update=False),
                    self.lookup("ownerid", "Owner", "systemuser", "team", type_=OWNER)]
        cols = [
            when("createdon", "Created On", read_only=True),
            when("modifiedon", "Modified On", read_only=True),
            self.lookup("createdby", "Created By", "systemuser", read_only=True),
            self.lookup("modifiedby", "Modified By", "systemuser", read_only=True),
            self.lookup("createdonbehalfby", "Created By (Delegate)", "systemuser", read_only=True),
            self.lookup("modifiedonbehalfby", "Modified By (Delegate)", "systemuser", read_only=True),
            Attribute("overriddencreatedon", DATETIME, "Record Created On", valid_for_update=False,
                      description="Date and time that the record was migrated; sets createdon."),
            Attribute("importsequencenumber", INTEGER, "Import Sequence Number", min_value=-INT_MAX - 1,
                      max_value=INT_MAX, valid_for_update=False),
            number("timezoneruleversionnumber", "Time Zone Rule Version Number", -1),
            number("utcconversiontimezonecode", "UTC Conversion Time Zone Code", -1),
            Attribute("versionnumber", BIGINT, "Version Number", valid_for_create=False, valid_for_update=False),
        ]
        if user_owned:
            cols += [
                self.lookup("ownerid", "Owner", "systemuser", "team", type_=OWNER, required="SystemRequired"),
                self.lookup("owninguser", "Owning User", "systemuser", read_only=True),
                self.lookup("owningteam", "Owning Team", "team", read_only=True),
                self.lookup("owningbusinessunit", "Owning Business Unit", "businessunit", read_only=True),
            ]
        return cols

    def address(self, n: int, composite: bool = True, freight: bool = True, **lengths: int) -> list[Attribute]:
        """The `address<n>_*` columns of account/contact/lead (schema-breadth.md §6.2)."""
        p = f"address{n}_"
        cols = [
            uid(f"{p}addressid", f"Address {n}: ID"),
            choice(f"{p}addresstypecode", f"Address {n}: Address Type", os_.ADDRESS_TYPE, table=self.name),
            text(f"{p}name", f"Address {n}: Name", 200),
            text(f"{p}line1", f"Address {n}: Street 1", 250), text(f"{p}line2", f"Address {n}: Street 2", 250),
            text(f"{p}line3", f"Address {n}: Street 3", 250),
            text(f"{p}city", f"Address {n}: City", 80),
            text(f"{p}stateorprovince", f"Address {n}: State/Province", lengths.get("stateorprovince", 50)),
            text(f"{p}county", f"Address {n}: County", 50),
            text(f"{p}postalcode", f"Address {n}: ZIP/Postal Code", lengths.get("postalcode", 20)),
            text(f"{p}country", f"Address {n}: Country/Region", 80),
            text(f"{p}postofficebox", f"Address {n}: Post Office Box", 20),
            text(f"{p}primarycontactname", f"Address {n}: Primary Contact Name", 100),
            text(f"{p}telephone1", f"Address {n}: Telephone 1", 50),
            text(f"{p}telephone2", f"Address {n}: Telephone 2", 50),
            text(f"{p}telephone3", f"Address {n}: Telephone 3", 50),
            text(f"{p}fax", f"Address {n}: Fax", 50),
            text(f"{p}upszone", f"Address {n}: UPS Zone", 4),
            number(f"{p}utcoffset", f"Address {n}: UTC Offset", -1500, 1500),
            double(f"{p}latitude", f"Address {n}: Latitude", -90, 90),
            double(f"{p}longitude", f"Address {n}: Longitude", -180, 180),
            choice(f"{p}shippingmethodcode", f"Address {n}: Shipping Method", os_.DEFAULT_VALUE, table=self.name),
        ]
        if freight:
            cols.append(choice(f"{p}freighttermscode", f"Address {n}: Freight Terms", os_.FREIGHT_TERMS,
                               table=self.name))
        if composite:
            cols.append(memo(f"{p}composite", f"Address {n}", 1000, read_only=True))
        return cols

    def table(self, entity_set: str, display: str, plural: str, primary_id: str, primary_name: str | None,
              *columns: Attribute | list[Attribute], ownership: str = "UserOwned",
              states: tuple[OptionSet, OptionSet] | None = None, description: str = "",
              name: Attribute | None = None) -> Table:
        """The table: its key, its primary name column (`name`, else a required String 100 of that name, unless
        listed in `columns`), the columns, the bookkeeping set and the state model."""
        flat: list[Attribute] = [key(primary_id, display)]
        listed = {c.logical_name for c in _flatten(columns)}
        if primary_name and primary_name not in listed:
            flat.append(name or text(primary_name, "Name", 100, "ApplicationRequired"))
        flat += _flatten(columns)
        flat += self.bookkeeping(ownership == "UserOwned")
        if states is not None:
            flat += state_model(*states)
        return Table(self.name, entity_set, display, plural, primary_id, primary_name or primary_id, tuple(flat),
                     ownership=ownership, is_activity=self.activity, description=description)


def _flatten(columns: tuple[Attribute | list[Attribute], ...]) -> list[Attribute]:
    out: list[Attribute] = []
    for c in columns:
        out.extend(c if isinstance(c, list) else [c])
    return out


__all__ = ["BOOLEAN", "CUSTOMER", "MEMO", "OWNER", "PICKLIST", "STATE", "STATUS", "STRING", "On", "bigint", "choice",
           "decimal", "double", "entity_name", "flag", "key", "memo", "money", "nav_names", "number", "state_model",
           "text", "uid", "when"]
