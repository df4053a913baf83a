"""The $filter size limits (nesting depth, number of conditions), checked on the parsed tree before the compiler's
recursive walk. The values are each app's settings, passed in by the caller."""
from __future__ import annotations

from dataclasses import dataclass

from odata_query import ast

from ..errors import BadRequest


@dataclass(frozen=True)
class FilterLimits:
    max_depth: int
    max_conditions: int

    def check(self, depth: int, conditions: int, text: str) -> None:
        """Refuse a tree of `measure` (depth, conditions) over the limits. SQLite itself refuses expression trees
        deeper than 1000, which a chain of that many conditions becomes."""
        if depth > self.max_depth:
            raise BadRequest(f"The recursion limit has been exceeded: the $filter expression nests {depth} levels "
                             f"deep and the limit is {self.max_depth}.")
        if conditions > self.max_conditions:
            raise BadRequest(f"The $filter expression has {conditions} conditions and the limit is "
                             f"{self.max_conditions}. Compare with a list instead: 'statuscode in (1,2,3)' or "
                             f"Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=['1','2']).")


def measure(tree: ast._Node) -> tuple[int, int]:
    """(depth, conditions) of a $filter tree. Depth as a reader counts it: a chain `a or b or c` is one level;
    each operator, `not`, function call or navigation nested inside another adds one (parentheses add none).
    Conditions: comparisons and function calls."""
    deepest = conditions = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, (ast.Compare, ast.Call)):
            conditions += 1
        for child in _children(node):
            same_chain = (isinstance(node, ast.BoolOp) and isinstance(child, ast.BoolOp)
                          and type(child.op) is type(node.op))
            stack.append((child, depth if same_chain else depth + 1))
    return deepest, conditions


def _children(node: ast._Node) -> list[ast._Node]:
    out = []
    for value in vars(node).values():
        if isinstance(value, ast._Node):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out.extend(v for v in value if isinstance(v, ast._Node))
    return out
