"""$expand of single-valued navigation properties (lookups) with a nested $select, parsed against the metadata (the
store fetches the related rows: store/related.py)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import metadata
from ..errors import BadRequest, NotSupported, PropertyNotFound
from ..metadata import Attribute, Table
from .select import parse_select

_OPTION_NAMES = {"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skip", "$levels", "$search"}


@dataclass
class ExpandItem:
    """One `$expand` item: navigation property `name`, the lookup behind it, the target table(s) it may point to
    (several only for a polymorphic lookup whose targets share one name, such as ownerid), the nested $select."""

    name: str
    lookup: Attribute
    targets: tuple[Table, ...]
    select: dict[str, list[Attribute] | None]  # target logical name -> attributes (None: every column)
    select_names: list[str] | None

    def columns(self, target: Table) -> list[Attribute]:
        chosen = self.select[target.logical_name]
        attrs = list(target.attributes) if chosen is None else list(chosen)
        if target.key not in attrs:
            attrs.append(target.key)
        return attrs

    @property
    def context(self) -> str:
        """How @odata.context lists this item: `nav(col1,col2)`, or `nav()` for every column (as ODataLib)."""
        return f"{self.name}({','.join(self.select_names or [])})"


def split_top_level(text: str, separator: str, option: str = "$expand") -> list[str]:
    """Split on `separator` outside parentheses and quoted strings."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise BadRequest(f"Syntax error in the {option} query option '{text}': unbalanced ')'.")
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or quoted:
        raise BadRequest(f"Syntax error in the {option} query option '{text}': unbalanced '(' or quote.")
    parts.append(text[start:])
    return parts


def is_collection_navigation(table: Table, name: str) -> bool:
    """Whether `name` is a relationship from another table's lookup to `table` (a one-to-many relationship,
    collection-valued from this side)."""
    return any(table.logical_name in attr.targets and any(nav == name for _, nav in attr.navigation)
               for other in metadata.tables() for attr in other.lookups)


def single_navigation(table: Table, name: str) -> tuple[Attribute, tuple[Table, ...]] | None:
    """The lookup behind single-valued navigation property `name` and the table(s) it points to, if it is one."""
    for attr in table.lookups:
        targets = tuple(metadata.table(t) for t, nav in attr.navigation if nav == name)
        if targets:
            return attr, targets
    return None


def resolve_navigation(table: Table, name: str) -> tuple[Attribute, tuple[Table, ...]]:
    found = single_navigation(table, name)
    if found is not None:
        return found
    if is_collection_navigation(table, name):
        raise BadRequest(f"The navigation property '{name}' is collection-valued; the emulator supports $expand "
                         f"on single-valued navigation properties (lookups) only.")
    raise PropertyNotFound(name, table.type_name)


def parse_item(table: Table, raw: str) -> ExpandItem:
    text = raw.strip()
    if not text:
        raise BadRequest("The $expand query option has an empty item.")
    name, options = text, ""
    if "(" in text:
        name, _, rest = text.partition("(")
        if not rest.endswith(")"):
            raise BadRequest(f"Syntax error in the $expand item '{text}': options must be enclosed in "
                             f"parentheses, as in nav($select=col1,col2).")
        name, options = name.strip(), rest[:-1]
    if "/" in name:
        head, _, tail = name.partition("/")
        resolve_navigation(table, head.strip())  # an unknown first segment is Dataverse's 400, not a 501
        if tail == "$ref" or "." in tail:
            raise NotSupported(f"The $expand item '{name}' is not supported by the emulator: expand a navigation "
                               f"property by name ($ref and type casts are not implemented).")
        raise BadRequest(f"The $expand item '{name}' is not valid: an expand path is one navigation property, "
                         f"optionally followed by $ref or a type cast.")
    attr, targets = resolve_navigation(table, name)
    select_text: str | None = None
    for option in split_top_level(options, ";") if options.strip() else []:
        key, eq, value = option.partition("=")
        key = key.strip()
        if not eq or key not in _OPTION_NAMES:
            raise BadRequest(f"The option '{option.strip()}' in $expand item '{name}' is not valid; use "
                             f"{name}($select=col1,col2).")
        if key == "$select":
            select_text = value
        elif key == "$expand":
            raise NotSupported(f"Nested $expand inside '{name}' is not implemented by the emulator.")
        else:
            raise BadRequest(f"The query option '{key}' is not allowed inside $expand on the single-valued "
                             f"navigation property '{name}'; only $select is. ({key} applies to "
                             f"collection-valued navigation properties.)")
    if len(targets) == 1:
        select, names = parse_select(targets[0], select_text)
        return ExpandItem(name, attr, targets, {targets[0].logical_name: select}, names)
    return ExpandItem(name, attr, targets, *_select_across(targets, select_text))


def _select_across(targets: tuple[Table, ...], text: str | None):
    """A nested $select on a navigation shared by several targets (ownerid: systemuser or team): each target
    returns the selected columns it has; a column none of them has is an error."""
    if text is None or text.strip() in ("", "*"):
        return {t.logical_name: None for t in targets}, None
    names = list(dict.fromkeys(n.strip() for n in text.split(",")))
    select: dict[str, list[Attribute] | None] = {}
    for target in targets:
        select[target.logical_name] = [a for a in (target.by_property(n) for n in names) if a is not None]
    for n in names:
        if not n:
            raise BadRequest(f"The $select query option '{text}' has an empty item.")
        if all(t.by_property(n) is None for t in targets):
            raise PropertyNotFound(n, targets[0].type_name)
    return select, names


def parse_expand(table: Table, text: str | None) -> list[ExpandItem]:
    if text is None or not text.strip():
        return []
    items: list[ExpandItem] = []
    for raw in split_top_level(text, ","):
        item = parse_item(table, raw)
        if any(existing.name == item.name for existing in items):
            raise BadRequest(f"The navigation property '{item.name}' is expanded more than once in $expand.")
        items.append(item)
    return items
