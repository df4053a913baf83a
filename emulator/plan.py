"""The query plan every query language compiles into (odata/: OData options today; FetchXML, $apply, saved queries
next): plain data over SQLAlchemy Core expressions, no engine and no connection. store/query.py runs any plan as one
SELECT, so a new query language is a new compiler, never a new SQL path. It sits below both layers (odata/ and
store/ never import each other), with the one rule of SQL text comparison both apply to subqueries."""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from .metadata import Attribute, Table
from .metadata import model as m

AGGREGATES = ("count", "countcolumn", "countdistinct", "sum", "avg", "min", "max")
AGGREGATE_LIMIT = 50000  # rows an aggregate query may read (Dataverse's AggregateQueryRecordLimit)


def case_insensitive(expr: sa.ColumnElement, attr: Attribute | None, dialect: str) -> sa.ColumnElement:
    """SQLite applies a column's NOCASE collation to the column only, not to a subquery over it."""
    if dialect == "sqlite" and attr is not None and attr.type in m.STRING_TYPES:
        return sa.collate(expr, "NOCASE")
    return expr


@dataclass(frozen=True)
class Join:
    """A related table joined through a lookup, in either direction: `lookup` is the parent's, pointing at `table`
    (many-to-one), or, with `to_many`, `table`'s own, pointing at the parent (one-to-many). `source` is the joined
    table under an alias of its own, which `where` and the plan's other expressions refer to; `where` goes into the
    ON clause, so an outer join still keeps the parent rows it matches nothing for. Its `columns` come back labelled
    `<alias>.<column>` (FetchXML's link-entity naming)."""

    source: NamedFromClause
    table: Table
    lookup: Attribute
    parent: NamedFromClause
    to_many: bool = False
    outer: bool = False
    where: sa.ColumnElement | None = None
    columns: tuple[Attribute, ...] = ()

    def on(self, parent_table: Table) -> sa.ColumnElement:
        """The ON clause: the lookup's value equals the key of the table it points at (and, for a polymorphic lookup,
        its target column names that table), and the join's own conditions. `parent_table` is `parent`'s table."""
        if self.to_many:
            owner, target, target_table = self.source, self.parent, parent_table
        else:
            owner, target, target_table = self.parent, self.source, self.table
        parts = [target.c[target_table.primary_id] == owner.c[self.lookup.logical_name]]
        if self.lookup.is_polymorphic:
            parts.append(owner.c[self.lookup.target_column] == target_table.logical_name)
        if self.where is not None:
            parts.append(self.where)
        return sa.and_(*parts)


@dataclass(frozen=True)
class Aggregate:
    """`function` (one of AGGREGATES) over `attr` of `source` (the root table when None), labelled `alias`;
    `count` counts rows and needs no column."""

    function: str
    alias: str
    attr: Attribute | None = None
    source: NamedFromClause | None = None


@dataclass(frozen=True)
class Group:
    """A group-by column, returned labelled `alias`; with `expr`, an expression over that column (such as its year)
    is grouped by and returned instead."""

    attr: Attribute
    alias: str
    source: NamedFromClause | None = None
    expr: sa.ColumnElement | None = None


@dataclass(frozen=True)
class Order:
    """A sort key: a column (`attr` of `source`, the root table when None; a lookup sorts by the related row's
    primary name first, as Dataverse does; with `by_label`, a choice column by its option label first, as FetchXML
    does), or a group or aggregate by its `alias`."""

    attr: Attribute | None = None
    descending: bool = False
    source: NamedFromClause | None = None
    alias: str | None = None
    by_label: bool = False


@dataclass
class Plan:
    """One SELECT: the root table's `columns` (with the key, the ETag's version and polymorphic lookups' target
    columns that a record needs), `joins`, `where`, grouping with aggregates (then the result has only the groups
    and aggregates), `order`, at most `limit` rows, and keyset paging: `after` holds the sort keys' values of the
    last row already served (as the paging cookie carries them) and the page starts strictly after it. `count`
    also counts the matching rows (up to Dataverse's 5000). A grouped plan with an `aggregate_limit` is refused
    when more rows than that enter the grouping."""

    table: Table
    columns: list[Attribute] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    where: sa.ColumnElement | None = None
    where_key: Hashable | None = None  # stands for `where` (equal keys, equivalent clauses); None: do not cache
    groups: list[Group] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    after: list[tuple[str, str | None]] | None = None
    count: bool = False
    aggregate_limit: int | None = None

    @property
    def grouped(self) -> bool:
        return bool(self.groups or self.aggregates)
