"""An independent evaluator for the differential oracle: rows read once with plain SQL (sql_rows), a tiny $filter
parser and evaluator of its own, and Dataverse's ordering rules written out in Python. It must not import
emulator.odata, so a bug there cannot hide in both sides."""
from __future__ import annotations

import re
from pathlib import Path


def report_section(path: Path, name: str, text: str) -> None:
    """Replace (or append) the `name` section of a results file, so the fuzz and oracle runs share one file."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    old = path.read_text() if path.exists() else "# Fuzz and differential-oracle results\n\n"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in old and end in old:
        new = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


def sql_rows(conn, sql_table, table) -> list[dict]:
    """Every row of a table, read with a plain SELECT and keyed by Web API property names (`_x_value` for a
    lookup). The database holds values in the Web API's forms (GUID and date-time strings, option values), so
    nothing is converted: a value the emulator serialises differently is a difference the oracle reports."""
    rows = [dict(r._mapping) for r in conn.execute(sql_table.select())]
    out = []
    for row in rows:
        item = {}
        for attr in table.attributes:
            value = row[attr.logical_name]
            item[attr.property_name] = float(value) if type(value).__name__ == "Decimal" else value
        out.append(item)
    return out


# -- the data model the oracle needs: property names and Edm types (metadata is data, not query logic) -------------
import random  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import cmp_to_key  # noqa: E402

from emulator import metadata  # noqa: E402

NUMERIC = {"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """Case folding as the emulator's SQLite collation does it (NOCASE folds ASCII letters only)."""
    return text.translate(_ASCII_LOWER)


# A filter is a tuple tree:
#   ("cmp", prop, op, value)      op in eq ne gt ge lt le; value None for null
#   ("in", prop, [values])        ("fn", name, prop, needle)  name in contains startswith endswith
#   ("bare", prop)                a Boolean column on its own
#   ("and"|"or", left, right)     ("not", inner)


def _compare(edm: str, a, b) -> int:
    if edm == "Edm.String":
        a, b = fold(a), fold(b)
    elif edm == "Edm.Guid":
        a, b = a.lower(), b.lower()
    return (a > b) - (a < b)


def evaluate(node, row: dict, types: dict[str, str]):
    """SQL's three-valued logic: True, False or None (unknown), as the database the emulator stands in for."""
    kind = node[0]
    if kind == "and":
        left, right = evaluate(node[1], row, types), evaluate(node[2], row, types)
        if left is False or right is False:
            return False
        return None if left is None or right is None else True
    if kind == "or":
        left, right = evaluate(node[1], row, types), evaluate(node[2], row, types)
        if left is True or right is True:
            return True
        return None if left is None or right is None else False
    if kind == "not":
        inner = evaluate(node[1], row, types)
        return None if inner is None else not inner
    value = row[node[1]] if kind != "fn" else row[node[2]]
    if kind == "bare":
        return None if value is None else value is True
    if kind == "cmp":
        _, prop, op, literal = node
        if literal is None:  # `eq null` / `ne null` are never unknown
            return (value is None) if op == "eq" else (value is not None)
        if value is None:
            return None
        c = _compare(types[prop], value, literal)
        return {"eq": c == 0, "ne": c != 0, "gt": c > 0, "ge": c >= 0, "lt": c < 0, "le": c <= 0}[op]
    if kind == "in":
        if value is None:
            return None
        return any(_compare(types[node[1]], value, v) == 0 for v in node[2])
    if kind == "fn":
        _, name, prop, needle = node
        if value is None:
            return None
        hay, needle = fold(value), fold(needle)
        return {"contains": needle in hay, "startswith": hay.startswith(needle),
                "endswith": hay.endswith(needle)}[name]
    raise ValueError(kind)


def render_literal(edm: str, value, rng: random.Random) -> str:
    if value is None:
        return "null"
    if edm == "Edm.String":
        return "'" + value.replace("'", "''") + "'"
    if edm == "Edm.Guid":
        return rng.choice([value, value.upper(), f"'{value}'"])
    if edm == "Edm.Boolean":
        return "true" if value else "false"
    if edm == "Edm.DateTimeOffset":
        return value
    return repr(value) if isinstance(value, float) else str(value)


def render(node, types: dict[str, str], rng: random.Random) -> str:
    kind = node[0]
    if kind in ("and", "or"):
        return f"({render(node[1], types, rng)}) {kind} ({render(node[2], types, rng)})"
    if kind == "not":
        return f"not ({render(node[1], types, rng)})"
    if kind == "bare":
        return node[1]
    if kind == "cmp":
        return f"{node[1]} {node[2]} {render_literal(types[node[1]], node[3], rng)}"
    if kind == "in":
        return f"{node[1]} in ({','.join(render_literal(types[node[1]], v, rng) for v in node[2])})"
    return f"{node[1]}({node[2]},{render_literal('Edm.String', node[3], rng)})"


@dataclass
class Query:
    entity_set: str
    filter: tuple | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    select: list[str] | None = None
    top: int | None = None
    page_size: int | None = None  # Prefer: odata.maxpagesize, pages followed through @odata.nextLink
    filter_text: str = ""

    def url(self) -> str:
        from urllib.parse import quote

        params = []
        if self.select:
            params.append("$select=" + ",".join(self.select))
        if self.filter is not None:
            params.append("$filter=" + quote(self.filter_text, safe=""))
        if self.order:
            params.append("$orderby=" + ",".join(f"{p} {'desc' if d else 'asc'}" for p, d in self.order))
        if self.top is not None:
            params.append(f"$top={self.top}")
        return self.entity_set + ("?" + "&".join(params) if params else "")


class Oracle:
    """Answers a Query over rows fetched once, with Dataverse's rules: every order ends with the primary key,
    nulls sort lowest, strings compare case-insensitively; `$top` is ignored under odata.maxpagesize."""

    def __init__(self, entity_set: str, rows: list[dict]) -> None:
        self.table = metadata.by_entity_set(entity_set)
        self.rows = rows
        self.types = {a.property_name: a.edm_type for a in self.table.attributes}
        self.pk = self.table.primary_id

    def answer(self, query: Query) -> list[dict]:
        rows = [r for r in self.rows if query.filter is None or evaluate(query.filter, r, self.types) is True]
        rows.sort(key=cmp_to_key(lambda a, b: self._order(query.order, a, b)))
        if query.top is not None and query.page_size is None:
            rows = rows[: query.top]
        return rows

    def _order(self, order: list[tuple[str, bool]], a: dict, b: dict) -> int:
        for prop, descending in [*order, (self.pk, False)]:
            x, y = a[prop], b[prop]
            if x is None or y is None:
                c = (x is not None) - (y is not None)  # null lowest
            else:
                c = _compare(self.types[prop], x, y)
            if c:
                return -c if descending else c
        return 0

    # -- random valid queries over the data --------------------------------------------------------------------
    def filterable(self) -> list[str]:
        return [p for p, t in self.types.items() if t in NUMERIC | {"Edm.String", "Edm.Guid", "Edm.Boolean",
                                                                    "Edm.DateTimeOffset"}]

    def sortable(self) -> list[str]:
        """Lookups sort by the related row's name in Dataverse; the oracle leaves them out of $orderby."""
        lookups = {a.property_name for a in self.table.lookups}
        return [p for p in self.filterable() if p not in lookups]

    def sample_value(self, prop: str, rng: random.Random):
        values = [r[prop] for r in self.rows if r[prop] is not None]
        if not values:
            return None
        value = rng.choice(values)
        edm = self.types[prop]
        if edm == "Edm.String" and rng.random() < 0.3:
            value = value.swapcase() if value.isascii() else value
        if edm in ("Edm.Int32", "Edm.Int64") and rng.random() < 0.2:
            value += rng.choice([-1, 1])
        return value

    def condition(self, rng: random.Random):
        prop = rng.choice(self.filterable())
        edm = self.types[prop]
        roll = rng.random()
        if roll < 0.1:
            return ("cmp", prop, rng.choice(["eq", "ne"]), None)
        value = self.sample_value(prop, rng)
        if value is None:
            return ("cmp", prop, "eq", None)
        if edm == "Edm.Boolean":
            return ("bare", prop) if roll < 0.3 else ("cmp", prop, rng.choice(["eq", "ne"]), value)
        if edm == "Edm.String" and roll < 0.45:
            clean = value.replace("%", "").replace("_", "")  # LIKE wildcards: see docs/decisions.md
            start = rng.randrange(0, max(1, len(clean)))
            needle = clean[start:start + rng.randint(1, 6)]
            return ("fn", rng.choice(["contains", "startswith", "endswith"]), prop, needle)
        if edm in ("Edm.String", "Edm.Int32", "Edm.Int64", "Edm.Guid") and roll < 0.55:
            return ("in", prop, [value] + [v for v in (self.sample_value(prop, rng) for _ in range(rng.randint(0, 3)))
                                           if v is not None])
        ops = ["eq", "ne"] if edm == "Edm.Guid" else ["eq", "ne", "gt", "ge", "lt", "le"]
        return ("cmp", prop, rng.choice(ops), value)

    def expression(self, rng: random.Random, depth: int = 0):
        roll = rng.random()
        if depth >= 3 or roll < 0.45:
            return self.condition(rng)
        if roll < 0.55:
            return ("not", self.expression(rng, depth + 1))
        return (rng.choice(["and", "or"]), self.expression(rng, depth + 1), self.expression(rng, depth + 1))

    def random_query(self, rng: random.Random) -> Query:
        query = Query(self.table.entity_set)
        if rng.random() < 0.85:
            query.filter = self.expression(rng)
            query.filter_text = render(query.filter, self.types, rng)
        if rng.random() < 0.7:
            props = self.sortable()
            query.order = [(p, rng.random() < 0.5) for p in rng.sample(props, rng.randint(1, min(3, len(props))))]
        if rng.random() < 0.6:
            query.select = rng.sample(list(self.types), rng.randint(1, min(5, len(self.types))))
        if rng.random() < 0.4:
            query.top = rng.randint(0, 60)
        if rng.random() < 0.25:
            query.page_size = rng.randint(1, 40)
        return query
