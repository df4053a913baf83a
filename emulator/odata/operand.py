"""What the $filter compiler and the query functions share: the visited operand, the numeric types, and the part of
the compiler a query function calls back into (so functions.py needs no import of filter.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from odata_query import ast

from ..metadata import Attribute

NUMERIC_EDM = {"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"}


@dataclass
class Operand:
    """A visited node: a SQL expression plus what is known of its type."""

    expr: Any
    edm: str | None = None  # None for null
    attr: Attribute | None = None
    node: Any = None  # the literal's odata-query node (its `py_val`, `val`)

    @property
    def is_literal(self) -> bool:
        return self.attr is None

    @property
    def name(self) -> str:
        """The column's property name, for messages (the type for a literal)."""
        return self.attr.property_name if self.attr is not None else str(self.edm)


class Compiler(Protocol):
    """The $filter compiler as a query function sees it (filter.FilterCompiler)."""

    @property
    def now(self) -> datetime: ...

    @property
    def user_id(self) -> str | None: ...

    def column(self, name: str) -> Operand: ...

    def visit(self, node: ast._Node) -> Any: ...

    def coerce(self, column: Operand, literal: Operand, op: str) -> Operand: ...
