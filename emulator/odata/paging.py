"""Dataverse's paging cookie, used as a keyset token: `$skiptoken=<cookie pagenumber="2" pagingcookie="..."
istracking="False" />`, whose pagingcookie is double URL-encoded `<cookie page="1"><attr last=".." first=".."/>
...</cookie>` holding the last row's value of every sort key, so the next page starts strictly after it."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.sax.saxutils import quoteattr

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from ..errors import BadRequest


@dataclass
class PagingCookie:
    page: int  # the page the cookie's values came from; the next request asks for page + 1
    keys: list[tuple[str, str | None]]  # (sort key name, last value) in sort order

    @property
    def pagenumber(self) -> int:
        return self.page + 1


def _format(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def encode(page: int, keys: list[tuple[str, object]], first: list[object] | None = None) -> str:
    parts = []
    for i, (name, value) in enumerate(keys):
        first_value = first[i] if first else value
        attrs = "".join(f" {attr}={quoteattr(_format(v))}" for attr, v in (("last", value), ("first", first_value))
                        if v is not None)  # a null sort value: no attribute at all, so no text can pose as null
        parts.append(f"<{name}{attrs} />")
    inner = f'<cookie page="{page}">{"".join(parts)}</cookie>'
    return (f'<cookie pagenumber="{page + 1}" pagingcookie="{quote(quote(inner, safe=""), safe="")}" '
            f'istracking="False" />')


def decode(token: str) -> PagingCookie:
    """Parse a $skiptoken (already URL-decoded once by the HTTP layer). A trailing '/' is tolerated."""
    token = token.strip().rstrip("/").strip()
    if not token.endswith("/>"):
        token = token + "/>" if token.endswith(" ") else token
    try:
        outer = ElementTree.fromstring(token)
        inner_text = unquote(unquote(outer.attrib["pagingcookie"]))
        inner = ElementTree.fromstring(inner_text)
        page = int(inner.attrib.get("page", outer.attrib.get("pagenumber", "2")))
        keys = [(el.tag, el.attrib.get("last")) for el in inner]
    except (ElementTree.ParseError, DefusedXmlException, KeyError, ValueError) as e:
        raise BadRequest(f"The $skiptoken value is not a valid paging cookie: {e}.") from None
    if outer.tag != "cookie" or inner.tag != "cookie" or page < 1:
        raise BadRequest("The $skiptoken value is not a valid paging cookie.")
    return PagingCookie(page, keys)
