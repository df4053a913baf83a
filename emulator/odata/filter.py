"""$filter: odata-query parses the expression; this visitor turns its AST into a SQLAlchemy Core clause,
type-checked against the table metadata the way Dataverse (ODataLib) checks it."""
from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from odata_query import ast
from odata_query import exceptions as oq
from odata_query.grammar import ODataLexer, ODataParser
from sqlalchemy.sql.selectable import NamedFromClause

from .. import metadata
from ..clock import format_instant
from ..errors import BadRequest, PropertyNotFound
from ..lru import LRU
from ..metadata import Attribute, Table
from ..plan import case_insensitive
from . import syntax
from .functions import call_dataverse_function
from .limits import FilterLimits, measure
from .operand import NUMERIC_EDM, Operand

OPERATOR_KINDS = {ast.Eq: "Equal", ast.NotEq: "NotEqual", ast.Gt: "GreaterThan", ast.GtE: "GreaterThanOrEqual",
                  ast.Lt: "LessThan", ast.LtE: "LessThanOrEqual", ast.In: "In"}
SQL_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
}
LITERAL_EDM = {ast.Integer: "Edm.Int32", ast.Float: "Edm.Double", ast.Boolean: "Edm.Boolean",
               ast.String: "Edm.String", ast.GUID: "Edm.Guid", ast.DateTime: "Edm.DateTimeOffset",
               ast.Date: "Edm.Date", ast.Time: "Edm.TimeOfDay", ast.Duration: "Edm.Duration",
               ast.Geography: "Edm.Geography"}
GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")

_local = threading.local()  # sly's lexer and parser keep state while they run: one pair per thread
# Longer $filter texts (with alias values) are rare and are parsed again rather than held: the clause of a long
# `in` list takes ~150 times its text in memory: with the cache sizes, some 60 MB a process at worst.
MAX_CACHED_TEXT = 1000


def parse(text: str) -> ast._Node:
    if not hasattr(_local, "parser"):
        _local.lexer, _local.parser = ODataLexer(), ODataParser()
    try:
        return _local.parser.parse(_local.lexer.tokenize(text))
    except oq.TokenizingException as e:
        token = e.token
        raise BadRequest(f"Syntax error: character '{str(token.value)[:1]}' is not valid at position "
                         f"{token.index} in '{text}'.") from None
    except oq.ParsingException as e:
        position = len(text) if e.eof or e.token is None else e.token.index
        raise BadRequest(f"Syntax error at position {position} in '{text}'.") from None
    except (oq.ODataException, AttributeError, ValueError, TypeError) as e:
        raise BadRequest(f"The query expression '{text}' is not valid: {e}") from None


def normalize_guid(text: str) -> str | None:
    """Lowercase hyphenated GUID, braces tolerated; None when not a GUID."""
    if not GUID_RE.match(text):
        return None
    return str(uuid.UUID(text.strip("{}")))


@dataclass(frozen=True)
class Compiled:
    """What one $filter text gave: its tree (odata-query's nodes are frozen dataclasses, and nothing here changes
    them), the tree's size for the per-app limits, and the clause last built from it with the clock and caller
    values that clause read."""

    tree: ast._Node
    size: tuple[int, int]  # (depth, conditions): limits.measure
    where: sa.ColumnElement | None = None
    context: tuple[tuple[str, object], ...] = ()


# (SQL table, dialect, $filter text, parameter aliases) -> Compiled. Parsing and building the clause are most
# of a query's cost; the clause holds the literals as bound values and never any data, so writes cannot stale it.
# The SQL table object in the key keeps each database's clauses apart (each Database builds its own tables).
_COMPILED: LRU[Compiled] = LRU(256)


class FilterCompiler:
    """Compiles one $filter for one table. `now` and `user_id` feed the Dataverse query functions."""

    def __init__(self, table: Table, sql_tables: Mapping[str, sa.Table], *, now: datetime, limits: FilterLimits,
                 user_id: str | None = None, dialect: str = "sqlite") -> None:
        self.table = table
        self.limits = limits
        self.sql_tables = sql_tables
        self.sql = sql_tables[table.logical_name]
        self.dialect = dialect
        # The query functions work to the second, so a clause built from `now` serves a live clock's whole second.
        self._context: dict[str, Any] = {"now": now.astimezone(UTC).replace(microsecond=0), "user_id": user_id}
        self._read: set[str] = set()  # the context values the clause being built depends on

    @property
    def now(self) -> datetime:
        self._read.add("now")
        return self._context["now"]

    @property
    def user_id(self) -> str | None:
        self._read.add("user_id")
        return self._context["user_id"]

    def compile(self, text: str, aliases: dict[str, str] | None = None) -> tuple[sa.ColumnElement, Hashable | None]:
        """The clause for `text`, and a key standing for it (equal keys, equivalent clauses) or None when the text is
        too long to cache. The clause is reused from an earlier request when it was built from the same text for the
        same table and the clock and caller values it read (if any) are still the current ones."""
        aliases = aliases or {}
        key = (self.sql, self.dialect, text, tuple(sorted(aliases.items())))
        compiled = _COMPILED.get(key)
        if compiled is None:
            tree = parse(syntax.rewrite(text, aliases))
            compiled = Compiled(tree, measure(tree))
        self.limits.check(*compiled.size, text)  # before the recursive walk: the limits are settings of each app
        if compiled.where is not None and all(self._context[name] == value for name, value in compiled.context):
            return compiled.where, (key, compiled.context)
        where = self._clause(compiled.tree, text)
        if len(text) + sum(map(len, aliases.values())) > MAX_CACHED_TEXT:
            return where, None
        context = tuple((name, self._context[name]) for name in sorted(self._read))
        _COMPILED.put(key, replace(compiled, where=where, context=context))
        return where, (key, context)

    def _clause(self, tree: ast._Node, text: str) -> sa.ColumnElement:
        result = self.visit(tree)
        if isinstance(result, list):
            raise BadRequest(f"The $filter expression '{text}' must evaluate to a Boolean value, not a list.")
        if isinstance(result, Operand):
            if result.edm != "Edm.Boolean":
                raise BadRequest(f"The $filter expression '{text}' must evaluate to a Boolean value.")
            if result.attr is not None:  # a bare Boolean column
                return result.expr == sa.true()
            return result.expr
        return result

    # -- dispatch --------------------------------------------------------------------------------------------
    def visit(self, node: ast._Node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise BadRequest(f"The '{type(node).__name__}' expression is not supported in $filter.")
        return method(node)

    # -- names -----------------------------------------------------------------------------------------------
    def column(self, name: str, table: Table | None = None, sql: NamedFromClause | None = None) -> Operand:
        table = table or self.table
        attr = table.by_property(name)
        if attr is None:
            raise PropertyNotFound(name, table.type_name)
        sql = sql if sql is not None else self.sql_tables[table.logical_name]
        return Operand(sql.c[attr.logical_name], attr.edm_type, attr)

    def visit_Identifier(self, node: ast.Identifier) -> Operand:
        if node.namespace:
            raise PropertyNotFound(".".join((*node.namespace, node.name)), self.table.type_name)
        return self.column(node.name)

    def navigation(self, name: str) -> tuple[Attribute, str]:
        for attr in self.table.lookups:
            for target, nav in attr.navigation:
                if nav == name:
                    return attr, target
        raise PropertyNotFound(name, self.table.type_name)

    def visit_Attribute(self, node: ast.Attribute) -> Operand:
        """`<navigation property>/<column>` on a single-valued navigation: a correlated scalar subquery."""
        if not isinstance(node.owner, ast.Identifier):
            raise BadRequest("Only one level of navigation is supported in $filter.")
        attr, target_name = self.navigation(node.owner.name)
        target = metadata.table(target_name)
        target_sql = self.sql_tables[target_name].alias()
        inner = self.column(node.attr, target, target_sql)
        condition = target_sql.c[target.primary_id] == self.sql.c[attr.logical_name]
        if attr.is_polymorphic:
            condition = sa.and_(condition, self.sql.c[attr.target_column] == target_name)
        subquery = case_insensitive(sa.select(inner.expr).where(condition).scalar_subquery(), inner.attr,
                                    self.dialect)
        return Operand(subquery, inner.edm, inner.attr)

    # -- literals --------------------------------------------------------------------------------------------
    def visit_Null(self, node: ast.Null) -> Operand:
        return Operand(sa.null(), None, node=node)

    def _literal(self, node: ast._Literal, value: Any) -> Operand:
        return Operand(sa.literal(value), LITERAL_EDM[type(node)], node=node)

    def visit_Integer(self, node):
        if len(node.val.lstrip("-")) > 300:  # beyond any Edm number; int()/float() of it would fail
            raise BadRequest(f"The numeric literal '{node.val[:40]}...' is out of range.")
        value = int(node.val)
        if not -2**63 <= value < 2**63:  # beyond Edm.Int64, ODataLib reads the literal as Edm.Decimal
            return Operand(sa.literal(float(value)), "Edm.Decimal", node=node)
        return self._literal(node, value)

    def visit_Float(self, node):
        return self._literal(node, float(node.val))

    def visit_Boolean(self, node):
        return Operand(sa.true() if node.val.lower() == "true" else sa.false(), "Edm.Boolean", node=node)

    def visit_String(self, node):
        return self._literal(node, node.py_val)

    def visit_GUID(self, node):
        return self._literal(node, node.val.lower())

    def visit_DateTime(self, node):
        try:
            return self._literal(node, format_instant(node.py_val))
        except ValueError:
            raise BadRequest(f"The value '{node.val}' is not a valid DateTimeOffset.") from None

    def visit_Date(self, node):
        try:
            return self._literal(node, format_instant(node.py_val))
        except ValueError:
            raise BadRequest(f"The value '{node.val}' is not a valid Date.") from None

    def visit_List(self, node: ast.List) -> list[Operand]:
        return [self.visit(item) for item in node.val]

    # -- operators -------------------------------------------------------------------------------------------
    def visit_BoolOp(self, node: ast.BoolOp):
        # A chain `a or b or c ...` parses left-deep; walk it as a loop so long chains do not exhaust the stack.
        chain: ast._Node = node
        operands: list[ast._Node] = []
        while isinstance(chain, ast.BoolOp) and type(chain.op) is type(node.op):
            operands.append(chain.right)
            chain = chain.left
        operands.append(chain)
        predicates = [self.predicate(item) for item in reversed(operands)]
        return sa.and_(*predicates) if isinstance(node.op, ast.And) else sa.or_(*predicates)

    def visit_UnaryOp(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            operand = self.visit(node.operand)
            if isinstance(operand, Operand) and operand.edm != "Edm.Boolean":
                # `not` binds tighter than `eq` in OData: `not statuscode eq 4` negates statuscode
                raise BadRequest(f"A unary operator with an incompatible type was detected. Found operand type "
                                 f"'{operand.edm}' for operator kind 'Not'.")
            if isinstance(operand, Operand):
                return sa.not_(operand.expr == sa.true() if operand.attr is not None else operand.expr)
            return sa.not_(operand)
        operand = self.visit(node.operand)
        if isinstance(operand, Operand) and operand.edm in NUMERIC_EDM:
            return Operand(-operand.expr, operand.edm, None, operand.node)
        raise BadRequest("The unary minus operator applies to numbers only.")

    def visit_BinOp(self, node: ast.BinOp):
        name = type(node.op).__name__.lower().replace("mult", "mul")
        raise BadRequest(f"The arithmetic operator '{name}' is not supported in a Dataverse $filter.")

    def predicate(self, node: ast._Node) -> sa.ColumnElement:
        result = self.visit(node)
        if isinstance(result, list):
            raise BadRequest("The operands of 'and', 'or' and 'not' must be Boolean expressions, not lists.")
        if isinstance(result, Operand):
            if result.edm != "Edm.Boolean":
                raise BadRequest("The operands of 'and', 'or' and 'not' must be Boolean expressions.")
            return result.expr == sa.true() if result.attr is not None else result.expr
        return result

    def visit_Compare(self, node: ast.Compare) -> sa.ColumnElement:
        kind = type(node.comparator)
        left = self.visit(node.left)
        if kind is ast.In:
            if not isinstance(node.right, ast.List):
                raise BadRequest("The right operand of 'in' must be a list such as (1,2).")
            values = [self.coerce(left, item, "In") for item in self.visit(node.right)]
            return left.expr.in_([v.expr for v in values])
        right = self.visit(node.right)
        if not isinstance(left, Operand) or not isinstance(right, Operand):
            raise BadRequest("A comparison needs a property or value on both sides.")
        if left.is_literal and not right.is_literal:
            left, right = right, left
            kind = {ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Lt: ast.Gt, ast.LtE: ast.GtE}.get(kind, kind)
        if right.edm is None or left.edm is None:  # null comparison
            if kind not in (ast.Eq, ast.NotEq):
                raise BadRequest(f"The operator '{OPERATOR_KINDS[kind]}' cannot compare with null.")
            other = left if right.edm is None else right
            return other.expr.is_(None) if kind is ast.Eq else other.expr.is_not(None)
        if not right.is_literal:
            if left.edm != right.edm and not (left.edm in NUMERIC_EDM and right.edm in NUMERIC_EDM):
                self.incompatible(left.edm, right.edm, kind)
        else:
            right = self.coerce(left, right, OPERATOR_KINDS[kind])
        return SQL_OPERATORS[kind](left.expr, right.expr)

    def incompatible(self, left: str | None, right: str | None, kind) -> None:
        op = kind if isinstance(kind, str) else OPERATOR_KINDS[kind]
        raise BadRequest(f"A binary operator with incompatible types was detected. Found operand types "
                         f"'{left}' and '{right}' for operator kind '{op}'.")

    def coerce(self, column: Operand, literal: Operand, op: str) -> Operand:
        """Bring a literal to the column's stored form and SQL type (so PostgreSQL compares citext columns
        case-insensitively), or reject it as ODataLib would."""
        if not isinstance(literal, Operand):
            raise BadRequest(f"A list is not valid inside a list of values for '{op}'.")
        checked = self._check_literal(column, literal, op)
        if checked.edm is None or not isinstance(checked.expr, sa.BindParameter):
            return checked
        return Operand(sa.literal(checked.expr.value, column.expr.type), checked.edm, node=checked.node)

    def _check_literal(self, column: Operand, literal: Operand, op: str) -> Operand:
        target, edm = column.edm, literal.edm
        if edm is None:
            return literal
        if target == "Edm.Guid":
            if edm == "Edm.Guid":
                return literal
            if edm == "Edm.String":  # Dataverse's docs write lookups as quoted GUIDs; accept both
                guid = normalize_guid(literal.node.py_val)
                if guid is None:
                    raise BadRequest(f"'{literal.node.py_val}' is not a valid GUID value for "
                                     f"'{column.attr.property_name if column.attr else 'Edm.Guid'}'.")
                return Operand(sa.literal(guid), "Edm.Guid", node=literal.node)
        elif target == "Edm.DateTimeOffset" and edm in ("Edm.DateTimeOffset", "Edm.Date"):
            return literal
        elif target in NUMERIC_EDM and edm in NUMERIC_EDM:
            return literal
        elif target == edm:
            return literal
        self.incompatible(target, edm, op)
        raise AssertionError  # unreachable

    # -- functions -------------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call):
        if node.func.namespace:
            return call_dataverse_function(self, node)
        name = node.func.name.lower()
        if name in ("contains", "startswith", "endswith"):
            return self.string_function(name, node.args)
        raise BadRequest(f"The function '{node.func.name}' is not supported. Dataverse $filter supports the "
                         f"string functions contains, startswith and endswith and the Microsoft.Dynamics.CRM "
                         f"query functions.")

    def string_function(self, name: str, args: list[ast._Node]) -> sa.ColumnElement:
        if len(args) != 2:
            raise BadRequest(f"The function '{name}' takes 2 arguments, not {len(args)}.")
        field, value = self.visit(args[0]), self.visit(args[1])
        if not isinstance(field, Operand) or field.attr is None or field.edm != "Edm.String":
            raise BadRequest(f"The first argument of '{name}' must be a string column.")
        if not isinstance(value, Operand) or value.edm != "Edm.String" or not value.is_literal:
            raise BadRequest(f"The second argument of '{name}' must be a string literal.")
        text = value.node.py_val
        # Dataverse passes % and _ through as SQL wildcards; so does the emulator.
        pattern = {"contains": f"%{text}%", "startswith": f"{text}%", "endswith": f"%{text}"}[name]
        return field.expr.like(sa.literal(pattern, field.expr.type))
