"""FetchXML conditions as SQL: a Scope (an entity or link-entity under its SQL alias) compiles each condition with
the $filter compiler's checks of literals, sharing the SQL of the Microsoft.Dynamics.CRM query functions."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from odata_query import ast
from sqlalchemy.sql.selectable import NamedFromClause

from ...errors import BadRequest
from ...metadata import Attribute, Table
from ..filter import SQL_OPERATORS, FilterCompiler
from ..functions import REGISTRY, FunctionCall
from ..limits import FilterLimits
from ..operand import Operand
from .grammar import BOOLEAN_TEXT, INVALID_ARGUMENT, attribute_of, not_emulated

# Operators by family: those sharing a query function's SQL (by its name), then those compiled here; each one's
# number of values (0, 1, 2 or "N": one or more).
DATE_FUNCTIONS = {
    "yesterday": "Yesterday", "today": "Today", "tomorrow": "Tomorrow", "last-seven-days": "Last7Days",
    "next-seven-days": "Next7Days", "last-week": "LastWeek", "this-week": "ThisWeek", "next-week": "NextWeek",
    "last-month": "LastMonth", "this-month": "ThisMonth", "next-month": "NextMonth", "last-year": "LastYear",
    "this-year": "ThisYear", "next-year": "NextYear", "eq-userid": "EqualUserId", "ne-userid": "NotEqualUserId",
}
VALUE_FUNCTIONS = {
    "on": "On", "on-or-before": "OnOrBefore", "on-or-after": "OnOrAfter",
    **{f"{d}-x-{unit}": f"{d.capitalize()}X{unit.capitalize()}" for d in ("last", "next")
       for unit in ("hours", "days", "weeks", "months", "years")},
    **{f"olderthan-x-{unit}": f"OlderThanX{unit.capitalize()}"
       for unit in ("minutes", "hours", "days", "weeks", "months", "years")},
}
LIST_FUNCTIONS = {"in": "In", "not-in": "NotIn", "contain-values": "ContainValues",
                  "not-contain-values": "DoesNotContainValues"}
RANGE_FUNCTIONS = {"between": "Between", "not-between": "NotBetween"}
COMPARISONS = {"eq": ast.Eq, "ne": ast.NotEq, "neq": ast.NotEq, "gt": ast.Gt, "ge": ast.GtE, "lt": ast.Lt,
               "le": ast.LtE}
PATTERNS = {"like": ("{}", False), "not-like": ("{}", True), "begins-with": ("{}%", False),
            "not-begin-with": ("{}%", True), "ends-with": ("%{}", False), "not-end-with": ("%{}", True)}
ARITY: dict[str, int | str] = {
    **{op: 0 for op in DATE_FUNCTIONS}, **{op: 1 for op in VALUE_FUNCTIONS}, **{op: "N" for op in LIST_FUNCTIONS},
    **{op: 2 for op in RANGE_FUNCTIONS}, **{op: 1 for op in COMPARISONS}, **{op: 1 for op in PATTERNS},
    "null": 0, "not-null": 0,
}
_FISCAL = ("this-fiscal-year", "this-fiscal-period", "last-fiscal-year", "last-fiscal-period", "next-fiscal-year",
           "next-fiscal-period", "last-x-fiscal-years", "last-x-fiscal-periods", "next-x-fiscal-years",
           "next-x-fiscal-periods", "in-fiscal-year", "in-fiscal-period", "in-fiscal-period-and-year",
           "in-or-before-fiscal-period-and-year", "in-or-after-fiscal-period-and-year")
NOT_EMULATED_OPERATORS = {
    **{op: "the organization's fiscal year settings" for op in _FISCAL},
    **{op: "teams, hierarchy security and business units" for op in (
        "eq-userteams", "eq-useroruserteams", "eq-useroruserhierarchy", "eq-useroruserhierarchyandteams",
        "eq-businessid", "ne-businessid")},
    "eq-userlanguage": "user settings (the caller's UI language)",
    **{op: "hierarchical relationships" for op in ("under", "eq-or-under", "not-under", "above", "eq-or-above")},
}


class Scope(FilterCompiler):
    """An `entity` or `link-entity`: its table under an SQL alias of its own, its conditions compiled with the $filter
    compiler, column names being FetchXML's logical names."""

    def __init__(self, table: Table, source: NamedFromClause, sql_tables: Mapping[str, sa.Table], *, now: datetime,
                 user_id: str | None, dialect: str, limits: FilterLimits, alias: str | None = None) -> None:
        super().__init__(table, sql_tables, now=now, limits=limits, user_id=user_id, dialect=dialect)
        self.source = source
        self.alias = alias  # None for the root entity

    def attribute(self, name: str | None) -> Attribute:
        return attribute_of(self.table, name)

    def column(self, name: str, table: Table | None = None, sql: NamedFromClause | None = None) -> Operand:
        attr = self.attribute(name)
        return Operand(self.source.c[attr.logical_name], attr.edm_type, attr)

    @property
    def prefix(self) -> str:
        return f"{self.source.name}." if self.alias is not None else ""

    @property
    def read(self) -> set[str]:
        """The clock and caller values this scope's conditions read."""
        return self._read

    def condition(self, operator: str, attr: Attribute, values: list[str]) -> sa.ColumnElement:
        """`attr` <operator> `values` (the `value` attribute and `<value>` texts), checked for arity and types."""
        arity = ARITY[operator]
        if arity == "N" and not values or arity != "N" and len(values) != arity:
            wanted = {0: "no value", 1: "one value", 2: "two values", "N": "one or more values"}[arity]
            raise BadRequest(f"The condition operator '{operator}' on '{attr.logical_name}' takes "
                             f"{wanted}, not {len(values)}.", code=INVALID_ARGUMENT)
        operand = self.column(attr.logical_name)
        call = FunctionCall(self, f"{operator} ({attr.logical_name})", {
            "PropertyName": ast.String(attr.logical_name),
            "PropertyValue": ast.String(values[0] if values else ""),
            "PropertyValues": ast.List([ast.String(v) for v in values])})
        if operator in COMPARISONS:
            return SQL_OPERATORS[COMPARISONS[operator]](operand.expr, _literals(call, operand, values)[0])
        if operator in PATTERNS:
            return _pattern(operator, operand, values[0])
        if operator in ("null", "not-null"):
            return operand.expr.is_(None) if operator == "null" else operand.expr.is_not(None)
        function = {**DATE_FUNCTIONS, **VALUE_FUNCTIONS, **LIST_FUNCTIONS, **RANGE_FUNCTIONS}[operator]
        return REGISTRY[function.lower()][1](call)

    def compare_columns(self, operator: str, attr: Attribute, other: Operand) -> sa.ColumnElement:
        """`valueof`: the column compared with another column of the same type."""
        if operator not in COMPARISONS:
            raise BadRequest(f"The 'valueof' attribute applies to eq, ne, gt, ge, lt and le, not '{operator}'.",
                             code=INVALID_ARGUMENT)
        operand = self.column(attr.logical_name)
        if other.edm != operand.edm:
            raise BadRequest(f"The columns compared with 'valueof' must have the same type: {operand.edm} and "
                             f"{other.edm}.", code=INVALID_ARGUMENT)
        return SQL_OPERATORS[COMPARISONS[operator]](operand.expr, other.expr)


def _literals(call: FunctionCall, operand: Operand, texts: list[str]) -> list[Any]:
    """The condition's values as bound literals of the column's type."""
    if operand.edm == "Edm.Boolean":
        if any(t.strip().lower() not in BOOLEAN_TEXT for t in texts):
            raise BadRequest(f"The value of '{call.name}' must be true, false, 1 or 0.", code=INVALID_ARGUMENT)
        return [sa.literal(BOOLEAN_TEXT[t.strip().lower()]) for t in texts]
    return call.coerced_values(operand)


def _pattern(operator: str, operand: Operand, value: str) -> sa.ColumnElement:
    """like, begins-with, ends-with and their negations: SQL LIKE, case-insensitive as every string column."""
    if operand.edm != "Edm.String":
        raise BadRequest(f"The condition operator '{operator}' applies to string columns; "
                         f"'{operand.attr.logical_name if operand.attr else ''}' is {operand.edm}.",
                         code=INVALID_ARGUMENT)
    if "[" in value:
        raise not_emulated("[...] character sets in like patterns")
    form, negated = PATTERNS[operator]
    match = operand.expr.like(sa.literal(form.format(value), operand.expr.type))
    return sa.not_(match) if negated else match
