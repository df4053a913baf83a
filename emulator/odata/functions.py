"""The Microsoft.Dynamics.CRM.* query functions of $filter (In, LastXDays, ...), evaluated against the
emulator clock as Dataverse does for a user whose time zone is UTC. Boundary rules: docs/query-functions.md."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from odata_query import ast

from ..clock import format_instant, parse_instant
from ..errors import BadRequest
from ..metadata import model as m
from .operand import NUMERIC_EDM, Compiler, Operand

NAMESPACE = ("Microsoft", "Dynamics", "CRM")
INT64_MAX = 2**63 - 1
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
INTEGER_RANGES = {"Edm.Int32": (-2**31, 2**31 - 1), "Edm.Int64": (-2**63, 2**63 - 1)}
PROPERTY = ("PropertyName",)
VALUE = ("PropertyName", "PropertyValue")
VALUES = ("PropertyName", "PropertyValues")

Handler = Callable[["FunctionCall"], sa.ColumnElement]
# lowercase name -> (canonical name, handler, the parameter names it takes)
REGISTRY: dict[str, tuple[str, Handler, tuple[str, ...]]] = {}


def function(name: str, params: tuple[str, ...] = PROPERTY) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = (name, handler, params)
        return handler
    return register


def shift(instant: datetime, **units: int) -> datetime:
    """`instant` moved by calendar units (months and years via relativedelta), clamped to years 1..9999."""
    try:
        return instant + relativedelta(None, None, **units)  # no dt1/dt2: the units are the whole delta
    except (OverflowError, ValueError):
        return EARLIEST if any(v < 0 for v in units.values()) else LATEST


def week_start(day: datetime) -> datetime:
    """00:00 on the Sunday that starts `day`'s week (en-US, Dataverse's default organization settings)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


class FunctionCall:
    """One call's named parameters, with helpers that validate them and name what is wrong."""

    def __init__(self, compiler: Compiler, name: str, params: dict[str, ast._Node]) -> None:
        self.compiler, self.name, self.params = compiler, name, params

    def _param(self, key: str) -> ast._Node:
        node = self.params.get(key)
        if node is None:
            raise BadRequest(f"The function '{self.name}' requires the parameter '{key}'.")
        return node

    def column(self) -> Operand:
        node = self._param("PropertyName")
        if not isinstance(node, ast.String):
            raise BadRequest(f"PropertyName of '{self.name}' must be a string such as 'createdon'.")
        return self.compiler.column(node.py_val)

    def typed_property(self, allowed: set[str], what: str) -> Operand:
        operand = self.column()
        if operand.attr is None or operand.edm not in allowed:
            raise BadRequest(f"The function '{self.name}' applies to {what}; PropertyName "
                             f"'{operand.name}' is {operand.edm}.")
        return operand

    def date_property(self) -> sa.ColumnElement:
        return self.typed_property({"Edm.DateTimeOffset"}, "date and time columns").expr

    def integer(self, key: str = "PropertyValue", minimum: int = 0) -> int:
        node = self._param(key)
        if isinstance(node, ast.String):
            text = node.py_val
        elif isinstance(node, (ast.Integer, ast.Float)):
            text = node.val
        else:
            text = "null" if isinstance(node, ast.Null) else getattr(node, "val", type(node).__name__)
            raise BadRequest(f"{key} of '{self.name}' must be a whole number, not '{text}'.")
        try:
            value = int(str(text).strip())
        except ValueError:
            raise BadRequest(f"{key} of '{self.name}' must be a whole number, not '{text}'.") from None
        if value < minimum:
            raise BadRequest(f"{key} of '{self.name}' must be {minimum} or more, not {value}.")
        if value > INT64_MAX:
            raise BadRequest(f"{key} of '{self.name}' must be at most {INT64_MAX} (Edm.Int64), not {value}.")
        return value

    def day(self, key: str = "PropertyValue") -> datetime:
        """A date parameter ('2026-01-15', 2026-01-15 or a date-time) as 00:00 UTC of that day."""
        node = self._param(key)
        try:
            if isinstance(node, ast.String):
                value = parse_instant(node.py_val)
            elif isinstance(node, ast.Date):
                value = datetime.combine(node.py_val, time(0), tzinfo=UTC)
            elif isinstance(node, ast.DateTime):
                value = node.py_val
                value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            else:
                raise ValueError
        except (ValueError, OverflowError):
            text = getattr(node, "val", "null" if isinstance(node, ast.Null) else type(node).__name__)
            raise BadRequest(f"{key} of '{self.name}' must be a date such as '2026-01-15', not '{text}'.") from None
        return datetime.combine(value.date(), time(0), tzinfo=UTC)

    def values(self, key: str = "PropertyValues", count: int | None = None) -> list[ast._Node]:
        node = self._param(key)
        if not isinstance(node, ast.List):
            raise BadRequest(f"{key} of '{self.name}' must be an array such as [\"1\",\"2\"].")
        items: list[ast._Node] = list(node.val)
        if count is not None and len(items) != count:
            raise BadRequest(f"{key} of '{self.name}' must hold exactly {count} values, not {len(items)}.")
        return items

    def coerced_values(self, operand: Operand, key: str = "PropertyValues", count: int | None = None) -> list:
        """Array items are strings in Dataverse (['3']); convert each to the column's type."""
        out = []
        for item in self.values(key, count):
            if isinstance(item, ast.Null):
                raise BadRequest(f"{key} of '{self.name}' must not contain null.")
            if isinstance(item, ast.List):
                raise BadRequest(f"{key} of '{self.name}' must be a flat array of values, not hold an array.")
            out.append(self.compiler.coerce(operand, self.literal_for(operand, item, key), self.name).expr)
        return out

    def literal_for(self, operand: Operand, item: ast._Node, key: str = "PropertyValues") -> Operand:
        if isinstance(item, ast.String) and operand.edm in NUMERIC_EDM:
            try:
                number = float(item.py_val) if operand.edm in ("Edm.Decimal", "Edm.Double") else int(item.py_val)
                if operand.edm in INTEGER_RANGES and not INTEGER_RANGES[operand.edm][0] <= number <= \
                        INTEGER_RANGES[operand.edm][1]:
                    raise ValueError
                if number != number or number in (float("inf"), float("-inf")):
                    raise ValueError
            except ValueError:
                raise BadRequest(f"The value '{item.py_val}' in {key} of '{self.name}' is not a valid "
                                 f"{operand.edm} for '{operand.name}'.") from None
            return Operand(sa.literal(number), operand.edm, node=item)
        if isinstance(item, ast.String) and operand.edm == "Edm.DateTimeOffset":
            try:
                return Operand(sa.literal(format_instant(parse_instant(item.py_val))), operand.edm, node=item)
            except (ValueError, OverflowError):
                raise BadRequest(f"The value '{item.py_val}' in {key} of '{self.name}' is not a valid "
                                 f"date.") from None
        return self.compiler.visit(item)

    # -- the clock ---------------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """UTC, to the second."""
        return self.compiler.now

    @property
    def today(self) -> datetime:
        """00:00 UTC today."""
        return datetime.combine(self.now.date(), time(0), tzinfo=UTC)

    def between(self, start: datetime | None, end: datetime | None, *, end_inclusive: bool = False
                ) -> sa.ColumnElement:
        """start <= column < end (or <= end); either bound may be open."""
        column = self.date_property()
        parts = []
        if start is not None:
            parts.append(column >= format_instant(start))
        if end is not None:
            parts.append(column <= format_instant(end) if end_inclusive else column < format_instant(end))
        return sa.and_(*parts)


def call_dataverse_function(compiler: Compiler, node: ast.Call) -> sa.ColumnElement:
    full_name = ".".join((*node.func.namespace, node.func.name))
    entry = REGISTRY.get(node.func.name.lower()) if tuple(node.func.namespace) == NAMESPACE else None
    if entry is None or entry[0] != node.func.name:  # function names are case-sensitive
        raise BadRequest(f"An unknown function with name '{full_name}' was found. This may also be a function "
                         f"import or a key lookup on a navigation property, which is not allowed.")
    _, handler, accepted = entry
    params: dict[str, ast._Node] = {}
    for arg in node.args:
        if not isinstance(arg, ast.NamedParam):
            raise BadRequest(f"The function '{full_name}' takes named parameters such as PropertyName='createdon'.")
        name = arg.name.name
        if name not in accepted:
            raise BadRequest(f"The function '{full_name}' has no parameter named '{name}'; it takes "
                             f"{', '.join(accepted)}.")
        if name in params:
            raise BadRequest(f"The parameter '{name}' is given more than once to '{full_name}'.")
        params[name] = arg.param
    return handler(FunctionCall(compiler, full_name, params))


# -- sets, ranges and choices ---------------------------------------------------------------------------------
@function("In", VALUES)
def in_(call: FunctionCall) -> sa.ColumnElement:
    operand = call.column()
    return operand.expr.in_(call.coerced_values(operand))


@function("NotIn", VALUES)
def not_in(call: FunctionCall) -> sa.ColumnElement:
    operand = call.column()  # SQL semantics, as Dataverse's SQL: rows whose value is null do not match
    return operand.expr.not_in(call.coerced_values(operand))


RANGE_EDM = {"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.DateTimeOffset"}


@function("Between", VALUES)
def between(call: FunctionCall) -> sa.ColumnElement:
    """low <= value <= high, both ends inclusive (SQL BETWEEN); a date without a time means its 00:00 UTC."""
    operand = call.typed_property(RANGE_EDM, "number and date columns")
    low, high = call.coerced_values(operand, count=2)
    return sa.and_(operand.expr >= low, operand.expr <= high)


@function("NotBetween", VALUES)
def not_between(call: FunctionCall) -> sa.ColumnElement:
    operand = call.typed_property(RANGE_EDM, "number and date columns")  # null values do not match
    low, high = call.coerced_values(operand, count=2)
    return sa.or_(operand.expr < low, operand.expr > high)


def _choice_values(call: FunctionCall) -> tuple[Operand, list[sa.ColumnElement]]:
    """The multi-select column and one whole-value match per requested option value."""
    operand = call.column()
    if operand.attr is None or operand.attr.type != m.MULTISELECT:
        raise BadRequest(f"The function '{call.name}' applies to choices (multi-select) columns; PropertyName "
                         f"'{operand.name}' is not one.")
    # ',' || value || ',' LIKE '%,<option>,%' matches whole option values, never a substring of another one.
    padded = sa.literal(",", sa.String) + sa.func.replace(operand.expr, " ", "", type_=sa.String) + \
        sa.literal(",", sa.String)
    matches: list[sa.ColumnElement] = []
    for item in call.values():
        text = item.py_val if isinstance(item, ast.String) else getattr(item, "val", None)
        try:
            option = int(str(text).strip())
        except (TypeError, ValueError):
            raise BadRequest(f"The value '{text}' in PropertyValues of '{call.name}' is not a valid option value "
                             f"for '{operand.name}'.") from None
        matches.append(padded.like(f"%,{option},%"))
    return operand, matches


@function("ContainValues", VALUES)
def contain_values(call: FunctionCall) -> sa.ColumnElement:
    """Any of the option values is selected."""
    _, matches = _choice_values(call)
    return sa.or_(*matches)


@function("DoesNotContainValues", VALUES)
def does_not_contain_values(call: FunctionCall) -> sa.ColumnElement:
    """None of the option values is selected; a row with no selection (null) matches."""
    operand, matches = _choice_values(call)
    return sa.or_(operand.expr.is_(None), sa.not_(sa.or_(*matches)))


# -- the caller -----------------------------------------------------------------------------------------------
@function("EqualUserId")
def equal_user_id(call: FunctionCall) -> sa.ColumnElement:
    operand = call.typed_property({"Edm.Guid"}, "unique identifier and lookup columns")
    return operand.expr == call.compiler.user_id if call.compiler.user_id else sa.false()


@function("NotEqualUserId")
def not_equal_user_id(call: FunctionCall) -> sa.ColumnElement:
    operand = call.typed_property({"Edm.Guid"}, "unique identifier and lookup columns")  # nulls do not match
    return operand.expr != call.compiler.user_id if call.compiler.user_id else operand.expr.is_not(None)


# -- whole days, weeks, months and years ----------------------------------------------------------------------
@function("Today")
def today(call: FunctionCall) -> sa.ColumnElement:
    return call.between(call.today, shift(call.today, days=1))


@function("Yesterday")
def yesterday(call: FunctionCall) -> sa.ColumnElement:
    return call.between(shift(call.today, days=-1), call.today)


@function("Tomorrow")
def tomorrow(call: FunctionCall) -> sa.ColumnElement:
    return call.between(shift(call.today, days=1), shift(call.today, days=2))


def _week(call: FunctionCall, offset: int) -> sa.ColumnElement:
    start = shift(week_start(call.today), weeks=offset)
    return call.between(start, shift(start, weeks=1))


@function("LastWeek")
def last_week(call: FunctionCall) -> sa.ColumnElement:
    return _week(call, -1)


@function("ThisWeek")
def this_week(call: FunctionCall) -> sa.ColumnElement:
    return _week(call, 0)


@function("NextWeek")
def next_week(call: FunctionCall) -> sa.ColumnElement:
    return _week(call, 1)


def _month(call: FunctionCall, offset: int) -> sa.ColumnElement:
    start = shift(call.today.replace(day=1), months=offset)
    return call.between(start, shift(start, months=1))


@function("LastMonth")
def last_month(call: FunctionCall) -> sa.ColumnElement:
    return _month(call, -1)


@function("ThisMonth")
def this_month(call: FunctionCall) -> sa.ColumnElement:
    return _month(call, 0)


@function("NextMonth")
def next_month(call: FunctionCall) -> sa.ColumnElement:
    return _month(call, 1)


def _year(call: FunctionCall, offset: int) -> sa.ColumnElement:
    start = shift(call.today.replace(month=1, day=1), years=offset)
    return call.between(start, shift(start, years=1))


@function("LastYear")
def last_year(call: FunctionCall) -> sa.ColumnElement:
    return _year(call, -1)


@function("ThisYear")
def this_year(call: FunctionCall) -> sa.ColumnElement:
    return _year(call, 0)


@function("NextYear")
def next_year(call: FunctionCall) -> sa.ColumnElement:
    return _year(call, 1)


# -- relative to now: last, next, older than ------------------------------------------------------------------
@function("Last7Days")
def last_7_days(call: FunctionCall) -> sa.ColumnElement:
    """LastXDays with X = 7."""
    return call.between(shift(call.today, days=-7), call.now, end_inclusive=True)


@function("Next7Days")
def next_7_days(call: FunctionCall) -> sa.ColumnElement:
    """NextXDays with X = 7."""
    return call.between(call.now, shift(call.today, days=8))


@function("LastXHours", VALUE)
def last_x_hours(call: FunctionCall) -> sa.ColumnElement:
    """From exactly N hours before now up to now."""
    return call.between(shift(call.now, hours=-call.integer()), call.now, end_inclusive=True)


def _last_x(unit: str, factor: int = 1) -> Handler:
    def handler(call: FunctionCall) -> sa.ColumnElement:
        """From 00:00 UTC of the day N units before today up to now."""
        return call.between(shift(call.today, **{unit: -call.integer() * factor}), call.now, end_inclusive=True)
    return handler


def _next_x(unit: str, factor: int = 1) -> Handler:
    def handler(call: FunctionCall) -> sa.ColumnElement:
        """From now up to the end of the day N units after today."""
        end = shift(shift(call.today, **{unit: call.integer() * factor}), days=1)
        return call.between(call.now, end)
    return handler


def _older_than_x(unit: str, factor: int = 1, *, from_now: bool = False) -> Handler:
    def handler(call: FunctionCall) -> sa.ColumnElement:
        """Strictly before now (minutes, hours) or 00:00 UTC of today (days and longer) minus N units."""
        return call.between(None, shift(call.now if from_now else call.today, **{unit: -call.integer() * factor}))
    return handler


for _name, _unit, _factor in (("Days", "days", 1), ("Weeks", "days", 7), ("Months", "months", 1),
                              ("Years", "years", 1)):
    function(f"LastX{_name}", VALUE)(_last_x(_unit, _factor))
    function(f"NextX{_name}", VALUE)(_next_x(_unit, _factor))
    function(f"OlderThanX{_name}", VALUE)(_older_than_x(_unit, _factor))

function("OlderThanXMinutes", VALUE)(_older_than_x("minutes", from_now=True))
function("OlderThanXHours", VALUE)(_older_than_x("hours", from_now=True))


@function("NextXHours", VALUE)
def next_x_hours(call: FunctionCall) -> sa.ColumnElement:
    """From now up to exactly N hours after now."""
    return call.between(call.now, shift(call.now, hours=call.integer()), end_inclusive=True)


# -- a given day ----------------------------------------------------------------------------------------------
@function("On", VALUE)
def on(call: FunctionCall) -> sa.ColumnElement:
    day = call.day()
    return call.between(day, shift(day, days=1))


@function("OnOrAfter", VALUE)
def on_or_after(call: FunctionCall) -> sa.ColumnElement:
    return call.between(call.day(), None)


@function("OnOrBefore", VALUE)
def on_or_before(call: FunctionCall) -> sa.ColumnElement:
    return call.between(None, shift(call.day(), days=1))


__all__ = ["REGISTRY", "call_dataverse_function", "function"]
