"""$select, $filter and $expand over in-memory objects (the metadata endpoints' items): parsed as for tables
(odata-query's tree after the emulator's syntax rewrites, quote-aware splitting), compiled into Python predicates."""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from odata_query import ast

from ..errors import BadRequest, PropertyNotFound
from . import syntax
from .expand import split_top_level
from .filter import parse
from .limits import FilterLimits, measure
from .options import SYSTEM_NAMES

OPTIONS = ("$select", "$filter", "$expand")
SINGLE_VALUED_OPTIONS = ("$select",)  # inside $expand of a single-valued navigation property
# An enum member such as Microsoft.Dynamics.CRM.OwnershipTypes'UserOwned' compares as its name; odata-query reads
# no enum literals. String literals are matched too, so that text inside them stays as it is.
_ENUM_OR_STRING = re.compile(r"'(?:[^']|'')*'|\bMicrosoft\.Dynamics\.CRM\.\w+'(\w*)'")
_NAME = re.compile(r"\w+")
_OPERATORS: dict[type[ast._Comparator], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

Item = Mapping[str, Any]
Value = Callable[[Item], Any]
Predicate = Callable[[Item], bool]


@dataclass(frozen=True)
class ObjectType:
    """What a query may name on one kind of object: its properties, its navigation properties (each with its
    target type and whether it is collection-valued) and the key, which every response carries."""

    name: str  # qualified, as errors name it
    properties: frozenset[str]
    key: str
    navigation: Mapping[str, tuple[ObjectType, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectQuery:
    """The options of one request (or one $expand item) on objects of one type, checked against it."""

    key: str  # returned whatever the $select
    select: tuple[str, ...] | None = None  # None: every property
    where: Predicate | None = None
    expand: Mapping[str, ObjectQuery] = field(default_factory=dict)

    def matches(self, item: Item) -> bool:
        return self.where is None or self.where(item)

    def shape(self, item: Item, keep_type: bool = False) -> dict[str, Any]:
        """The item's selected properties and its key, in the item's order; its @odata.type if `keep_type`."""
        return {name: value for name, value in item.items()
                if (keep_type if name == "@odata.type" else
                    self.select is None or name in self.select or name == self.key)}


def query_options(pairs: Iterable[tuple[str, str]], allowed: tuple[str, ...] = OPTIONS) -> dict[str, str]:
    """The system query options among `pairs` (the last of a repeated one); any other `$` option is refused, and
    so is one written without its `$` (ignoring it would answer unfiltered data)."""
    options: dict[str, str] = {}
    for name, value in pairs:
        if name.startswith("$") and name not in allowed:
            raise BadRequest(f"The query parameter {name} is not supported for metadata queries.")
        if name.lower() in SYSTEM_NAMES:
            raise BadRequest(f"The query parameter '{name}' is not supported: system query options start with '$' "
                             f"(write '${name.lower()}').")
        if name in allowed:
            options[name] = value
    return options


def parse_query(options: Mapping[str, str], kind: ObjectType, aliases: Mapping[str, str],
                limits: FilterLimits) -> ObjectQuery:
    """Parse `$select`, `$filter` and `$expand` (values of `options`) against `kind`; `@` aliases feed $filter,
    whose size `limits` bounds as on tables."""
    return ObjectQuery(kind.key, parse_select(options.get("$select"), kind),
                       parse_filter(options.get("$filter"), kind, aliases, limits),
                       parse_expand(options.get("$expand"), kind, aliases, limits))


def parse_select(text: str | None, kind: ObjectType) -> tuple[str, ...] | None:
    if text is None or text.strip() in ("", "*"):
        return None
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if not name:
            raise BadRequest(f"The $select query option '{text}' has an empty item.")
        if name not in kind.properties and name not in kind.navigation:
            raise PropertyNotFound(name, kind.name)
    return names


def parse_expand(text: str | None, kind: ObjectType, aliases: Mapping[str, str],
                 limits: FilterLimits) -> dict[str, ObjectQuery]:
    """`nav` or `nav(<options separated by ;>)` items separated by commas, quoted text left alone."""
    if text is None or not text.strip():
        return {}
    expand: dict[str, ObjectQuery] = {}
    for raw in split_top_level(text, ","):
        item = raw.strip()
        name, parenthesis, inner = item.partition("(")
        name = name.strip()
        if not item or not _NAME.fullmatch(name) or (parenthesis and not inner.endswith(")")):
            raise BadRequest(f"The $expand option '{item}' is not valid.")
        if name not in kind.navigation:
            raise PropertyNotFound(name, kind.name)
        if name in expand:
            raise BadRequest(f"The navigation property '{name}' is expanded more than once in $expand.")
        target, collection = kind.navigation[name]
        allowed = OPTIONS if collection else SINGLE_VALUED_OPTIONS
        pairs = []
        for part in split_top_level(inner[:-1], ";") if inner[:-1].strip() else []:
            option, equals, value = part.partition("=")
            option = option.strip()
            if not equals or not option.startswith("$"):
                raise BadRequest(f"The $expand option '{part.strip()}' is not valid.")
            if option in OPTIONS and option not in allowed:
                raise BadRequest(f"The query option '{option}' is not allowed inside $expand on the single-valued "
                                 f"navigation property '{name}'; only $select is.")
            pairs.append((option, value.strip()))
        expand[name] = parse_query(query_options(pairs, allowed), target, aliases, limits)
    return expand


def parse_filter(text: str | None, kind: ObjectType, aliases: Mapping[str, str],
                 limits: FilterLimits) -> Predicate | None:
    if text is None or not text.strip():
        return None
    rewritten = _ENUM_OR_STRING.sub(lambda m: m.group(0) if m.group(1) is None else f"'{m.group(1)}'",
                                    syntax.rewrite(text, aliases))
    tree = parse(rewritten)
    limits.check(*measure(tree), text)  # before the compiler's recursive walk
    return _FilterCompiler(kind).predicate(tree)


def _fold(value: Any) -> Any:
    """Metadata names compare case-insensitively, as the emulator's strings do."""
    return value.lower() if isinstance(value, str) else value


def _kind_of(value: Any) -> type:
    return float if isinstance(value, int | float) and not isinstance(value, bool) else type(value)


def _check_comparable(left: Any, right: Any) -> None:
    if left is not None and right is not None and _kind_of(left) is not _kind_of(right):
        raise BadRequest(f"A binary operator with incompatible types was detected: cannot compare {left!r} with "
                         f"{right!r} in the metadata $filter.")


def _compare(kind: type[ast._Comparator], left: Any, right: Any) -> bool:
    _check_comparable(left, right)
    if kind not in (ast.Eq, ast.NotEq) and (left is None or right is None):
        return False  # null is neither less nor greater than anything
    return bool(_OPERATORS[kind](left, right))


class _FilterCompiler:
    """Turns odata-query's tree into a predicate over items of one type, refusing at once what it cannot do."""

    def __init__(self, kind: ObjectType) -> None:
        self.kind = kind

    def predicate(self, node: ast._Node) -> Predicate:
        if isinstance(node, ast.BoolOp):
            # a chain `a or b or c ...` parses left-deep: walk it as a loop, as the SQL compiler does
            chain: ast._Node = node
            operands = []
            while isinstance(chain, ast.BoolOp) and type(chain.op) is type(node.op):
                operands.append(chain.right)
                chain = chain.left
            predicates = [self.predicate(item) for item in reversed([*operands, chain])]
            if isinstance(node.op, ast.And):
                return lambda item: all(p(item) for p in predicates)
            return lambda item: any(p(item) for p in predicates)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = self.predicate(node.operand)
            return lambda item: not operand(item)
        if isinstance(node, ast.Compare):
            return self.comparison(node)
        value = self.value(node)

        def boolean(item: Item) -> bool:
            result = value(item)
            if not isinstance(result, bool):
                raise BadRequest("A metadata $filter must be a boolean expression.")
            return result

        return boolean

    def comparison(self, node: ast.Compare) -> Predicate:
        kind = type(node.comparator)
        left = self.value(node.left)
        if kind is ast.In:
            assert isinstance(node.right, ast.List)  # odata-query's grammar takes only a list after 'in'
            values = [self.value(v) for v in node.right.val]

            def contained(item: Item) -> bool:
                needle = _fold(left(item))
                return any(_compare(ast.Eq, needle, _fold(v(item))) for v in values)

            return contained
        right = self.value(node.right)
        return lambda item: _compare(kind, _fold(left(item)), _fold(right(item)))

    def value(self, node: ast._Node) -> Value:
        if isinstance(node, ast.Identifier):
            name = ".".join((*node.namespace, node.name))
            if name in self.kind.navigation:
                raise BadRequest(f"The emulator's metadata $filter does not support navigation property "
                                 f"'{name}'.")
            if name not in self.kind.properties:
                raise PropertyNotFound(name, self.kind.name)
            return lambda item: item.get(name)
        if isinstance(node, ast.Attribute):  # a property of a complex value: RequiredLevel/Value
            owner, attr = self.value(node.owner), node.attr
            return lambda item: whole.get(attr) if isinstance(whole := owner(item), dict) else None
        if isinstance(node, ast.GUID):
            guid = str(node.py_val)
            return lambda item: guid
        if isinstance(node, ast.String | ast.Integer | ast.Float | ast.Boolean | ast.Null):
            if isinstance(node, ast.Integer) and len(node.val) > 300:  # beyond any Edm number; int() may fail
                raise BadRequest(f"The numeric literal '{node.val[:40]}...' is out of range.")
            literal = node.py_val
            return lambda item: literal
        raise BadRequest(f"The emulator's metadata $filter supports comparisons, 'in', 'and', 'or', 'not' and "
                         f"string, number, Boolean, GUID and null values only, not {_construct(node)}.")


def _construct(node: ast._Node) -> str:
    """How an error names what the metadata $filter does not support."""
    if isinstance(node, ast.Call):
        return f"the function '{'.'.join((*node.func.namespace, node.func.name))}'"
    if isinstance(node, ast.BinOp):
        return f"the arithmetic operator '{type(node.op).__name__.lower().replace('mult', 'mul')}'"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):  # `not a eq 1` reads `(not a) eq 1`
        return "'not' applied to a value (write not (a eq 1))"
    if isinstance(node, ast.UnaryOp):
        return "the unary minus operator"
    return f"a {type(node).__name__} value"
