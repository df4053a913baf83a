"""The Microsoft.Dynamics.CRM.* query functions of $filter (In, LastXDays, ...), evaluated against the
emulator clock as Dataverse does for a user whose time zone is UTC. Boundary rules: docs/query-functions.md."""
from __future__ import annotations

import builtins
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Callable

import sqlalchemy as sa
from odata_query import ast

from ..errors import BadRequest
from ..store.schema import format_instant

if TYPE_CHECKING:
    from .filter import FilterCompiler, Operand

NAMESPACE = ("Microsoft", "Dynamics", "CRM")
Handler = Callable[["FunctionCall"], sa.ColumnElement]
REGISTRY: dict[str, tuple[str, Handler]] = {}  # lowercase name -> (canonical name, handler)


def function(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = (name, handler)
        return handler
    return register


class FunctionCall:
    """One call's named parameters, with helpers that validate them and name what is wrong."""

    def __init__(self, compiler: "FilterCompiler", name: str, params: dict[str, ast._Node]) -> None:
        self.compiler, self.name, self.params = compiler, name, params

    def _param(self, key: str) -> ast._Node:
        node = self.params.get(key)
        if node is None:
            raise BadRequest(f"The function '{self.name}' requires the parameter '{key}'.")
        return node

    def property(self) -> "Operand":
        node = self._param("PropertyName")
        if not isinstance(node, ast.String):
            raise BadRequest(f"PropertyName of '{self.name}' must be a string such as 'createdon'.")
        return self.compiler.column(node.py_val)

    def date_property(self) -> sa.ColumnElement:
        operand = self.property()
        if operand.edm != "Edm.DateTimeOffset":
            raise BadRequest(f"The function '{self.name}' applies to date and time columns; "
                             f"'{operand.attr.property_name}' is {operand.edm}.")
        return operand.expr

    def integer(self, key: str = "PropertyValue", minimum: int = 0) -> int:
        node = self._param(key)
        text = node.py_val if isinstance(node, ast.String) else getattr(node, "val", None)
        try:
            value = int(str(text))
        except (TypeError, ValueError):
            raise BadRequest(f"{key} of '{self.name}' must be a whole number, not '{text}'.") from None
        if value < minimum:
            raise BadRequest(f"{key} of '{self.name}' must be {minimum} or more, not {value}.")
        return value

    def values(self, key: str = "PropertyValues") -> list[ast._Node]:
        node = self._param(key)
        if not isinstance(node, ast.List):
            raise BadRequest(f"{key} of '{self.name}' must be an array such as ['1','2'].")
        return list(node.val)

    def coerced_values(self, operand: "Operand", key: str = "PropertyValues") -> list:
        """Array items are strings in Dataverse (['3']); convert each to the column's type."""
        out = []
        for item in self.values(key):
            out.append(self.compiler.coerce(operand, self.literal_for(operand, item), self.name).expr)
        return out

    def literal_for(self, operand: "Operand", item: ast._Node) -> "Operand":
        from .filter import NUMERIC_EDM, Operand

        if isinstance(item, ast.String) and operand.edm in NUMERIC_EDM:
            try:
                number = float(item.py_val) if operand.edm in ("Edm.Decimal", "Edm.Double") else int(item.py_val)
            except ValueError:
                raise BadRequest(f"The value '{item.py_val}' of '{self.name}' is not a valid "
                                 f"{operand.edm} for '{operand.attr.property_name}'.") from None
            return Operand(sa.literal(number), operand.edm, node=item)
        if isinstance(item, ast.String) and operand.edm == "Edm.DateTimeOffset":
            from ..clock import parse_instant
            try:
                return Operand(sa.literal(format_instant(parse_instant(item.py_val))), operand.edm, node=item)
            except ValueError:
                raise BadRequest(f"The value '{item.py_val}' of '{self.name}' is not a valid date.") from None
        return self.compiler.visit(item)

    # -- the clock ---------------------------------------------------------------------------------------------
    @builtins.property  # `property` here is the method above
    def now(self) -> datetime:
        return self.compiler.now.astimezone(timezone.utc).replace(microsecond=0)

    @builtins.property
    def today(self) -> datetime:
        """00:00 UTC today."""
        return datetime.combine(self.now.date(), time(0), tzinfo=timezone.utc)

    def between(self, start: datetime | None, end: datetime | None, *, end_inclusive: bool = False
                ) -> sa.ColumnElement:
        column = self.date_property()
        parts = []
        if start is not None:
            parts.append(column >= format_instant(start))
        if end is not None:
            parts.append(column <= format_instant(end) if end_inclusive else column < format_instant(end))
        return sa.and_(*parts)


def call_dataverse_function(compiler: "FilterCompiler", node: ast.Call) -> sa.ColumnElement:
    full_name = ".".join((*node.func.namespace, node.func.name))
    entry = REGISTRY.get(node.func.name.lower()) if tuple(node.func.namespace) == NAMESPACE else None
    if entry is None or entry[0] != node.func.name:  # function names are case-sensitive
        raise BadRequest(f"An unknown function with name '{full_name}' was found. This may also be a function "
                         f"import or a key lookup on a navigation property, which is not allowed.")
    params: dict[str, ast._Node] = {}
    for arg in node.args:
        if not isinstance(arg, ast.NamedParam):
            raise BadRequest(f"The function '{full_name}' takes named parameters such as PropertyName='createdon'.")
        params[arg.name.name] = arg.param
    try:
        return entry[1](FunctionCall(compiler, full_name, params))
    except (OverflowError, ValueError):  # date arithmetic past year 1 or 9999
        raise BadRequest(f"A parameter value of '{full_name}' is out of range: the dates it gives must fall "
                         f"between the years 1 and 9999.") from None


# -- choices and sets -----------------------------------------------------------------------------------------
@function("In")
def in_(call: FunctionCall) -> sa.ColumnElement:
    operand = call.property()
    return operand.expr.in_(call.coerced_values(operand))


@function("NotIn")
def not_in(call: FunctionCall) -> sa.ColumnElement:
    operand = call.property()  # SQL semantics, as Dataverse's SQL: rows whose value is null do not match
    return operand.expr.not_in(call.coerced_values(operand))


# -- relative dates -------------------------------------------------------------------------------------------
@function("LastXDays")
def last_x_days(call: FunctionCall) -> sa.ColumnElement:
    """From 00:00 UTC N days before today up to now (N = 0: today so far)."""
    return call.between(call.today - timedelta(days=call.integer()), call.now, end_inclusive=True)
