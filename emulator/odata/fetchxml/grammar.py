"""FetchXML's grammar as Fetch.xsd gives it (elements, their attributes and children) and the Dataverse errors for
what breaks it; safe parsing (no DTDs, so no entity expansion) of the query and of its paging cookie."""
from __future__ import annotations

import re
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from ...errors import BadRequest, NotSupported
from ...metadata import Attribute, Table
from ..filter import normalize_guid

INVALID_XML = "0x80040201"
NO_ATTRIBUTE = "0x80041103"  # QueryBuilderNoAttribute
NO_ENTITY = "0x80041102"  # QueryBuilderNoEntity
INVALID_ARGUMENT = "0x80040203"
ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,49}$")  # also a SQL name: short enough for PostgreSQL
BOOLEAN_TEXT = {"true": True, "1": True, "false": False, "0": False}

# Each element's attributes (Fetch.xsd): handled or without effect on a Web API query; then those refused by name.
ATTRIBUTES = {
    "fetch": {"version", "count", "page", "paging-cookie", "top", "distinct", "aggregate", "aggregatelimit",
              "returntotalrecordcount", "no-lock", "latematerialize", "useraworderby", "options", "mapping",
              "output-format", "utc-offset", "min-active-row-version"},
    "entity": {"name", "enableprefiltering", "prefilterparametername"},
    "link-entity": {"name", "from", "to", "alias", "link-type", "intersect", "visible", "enableprefiltering",
                    "prefilterparametername"},
    "attribute": {"name", "alias", "aggregate", "groupby", "dategrouping", "distinct", "usertimezone", "build",
                  "addedby"},
    "all-attributes": set(),
    "order": {"attribute", "alias", "descending", "entityname"},
    "filter": {"type", "hint"},
    "condition": {"attribute", "operator", "value", "valueof", "entityname", "alias", "uiname", "uitype",
                  "uihidden"},
    "value": {"uiname", "uitype"},
}
NOT_EMULATED_ATTRIBUTES = {
    ("fetch", "datasource"): "long-term retention data (datasource)",
    ("attribute", "rowaggregate"): "hierarchical child counts (rowaggregate)",
    ("filter", "isquickfindfields"): "quick-find filters (isquickfindfields)",
    ("filter", "overridequickfindrecordlimitenabled"): "the quick-find record limit switches",
    ("filter", "overridequickfindrecordlimitdisabled"): "the quick-find record limit switches",
    ("condition", "column"): "conditions on the column attribute",
    ("condition", "aggregate"): "conditions on aggregates",
    ("condition", "rowaggregate"): "conditions on hierarchical child counts (rowaggregate)",
}
DOCUMENT = "#document"
CHILDREN = {
    DOCUMENT: {"fetch"},
    "fetch": {"entity"},
    "entity": {"attribute", "all-attributes", "order", "filter", "link-entity"},
    "link-entity": {"attribute", "all-attributes", "order", "filter", "link-entity"},
    "filter": {"condition", "filter", "link-entity"},
    "condition": {"value"},
    "attribute": set(), "all-attributes": set(), "order": set(), "value": set(),
}


def invalid(message: str) -> BadRequest:
    return BadRequest(f"Invalid XML. {message}", code=INVALID_XML)


def not_emulated(what: str) -> NotSupported:
    return NotSupported(f"The emulator does not implement {what} in FetchXML yet; the query was not run.")


def no_attribute(table: Table, name: str) -> BadRequest:
    return BadRequest(f"'{table.logical_name}' entity doesn't contain attribute with Name = '{name}' and "
                      f"NameMapping = 'Logical' (look up attribute by name is case-sensitive).", code=NO_ATTRIBUTE)


def attribute_of(table: Table, name: str | None) -> Attribute:
    attr = table.attribute(name) if name else None
    if attr is None:
        raise no_attribute(table, name or "")
    return attr


def boolean(el: Element, name: str, default: bool = False) -> bool:
    text = el.get(name)
    if text is None:
        return default
    if text.strip().lower() not in BOOLEAN_TEXT:
        raise invalid(f"The '{name}' attribute of <{el.tag}> must be true, false, 1 or 0, not '{text}'.")
    return BOOLEAN_TEXT[text.strip().lower()]


def whole_number(el: Element, name: str, maximum: int) -> int | None:
    text = el.get(name)
    if text is None:
        return None
    if not re.fullmatch(r"\s*\d{1,9}\s*", text) or not 1 <= int(text) <= maximum:
        raise BadRequest(f"The '{name}' attribute of <fetch> must be a whole number from 1 to {maximum}, "
                         f"not '{text}'.", code=INVALID_ARGUMENT)
    return int(text)


def parse_xml(text: str, what: str = "FetchXML") -> Element:
    """Well-formed XML without a DTD (so without entity expansion), or Dataverse's 'Invalid XML.'."""
    try:
        return ElementTree.fromstring(text, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as e:
        raise invalid(f"The {what} is not well-formed: {e}.") from None


def check_element(el: Element, parent: str) -> None:
    """Fetch.xsd's elements and attributes: unknown ones are invalid XML, known ones not emulated a named 501."""
    if el.tag not in CHILDREN.get(parent, ()):
        raise invalid(f"The element '{el.tag}' is not expected in <{parent}>.")
    for name in el.attrib:
        if name in ATTRIBUTES[el.tag]:
            continue
        if (el.tag, name) in NOT_EMULATED_ATTRIBUTES:
            raise not_emulated(NOT_EMULATED_ATTRIBUTES[(el.tag, name)])
        raise invalid(f"The '{name}' attribute is not declared on <{el.tag}>.")
    if el.tag != "value" and (el.text or "").strip():
        raise invalid(f"The element <{el.tag}> cannot contain text.")
    if not CHILDREN[el.tag] and len(el):
        raise invalid(f"The element <{el.tag}> cannot contain <{el[0].tag}>.")



def parse_cookie(text: str) -> list[tuple[str, str | None]]:
    """The paging-cookie attribute (`<cookie page="1"><col last=".." first=".."/>...</cookie>`, as the previous
    answer's pagingcookie gave it, URL-decoded or not): each sort key's last value (None: null)."""
    if not text.lstrip().startswith("<"):
        text = unquote(unquote(text))
    cookie = parse_xml(text, "paging cookie")
    if cookie.tag != "cookie":
        raise invalid("The paging cookie must be a <cookie> element.")
    keys = []
    for el in cookie:
        value = el.get("last")
        guid = normalize_guid(value) if value is not None and value.startswith("{") else None
        keys.append((el.tag, guid or value))
    return keys
