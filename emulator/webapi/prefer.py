"""The Prefer request header: odata.maxpagesize, odata.include-annotations, odata.track-changes,
return=representation."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from ..errors import BadRequest
from ..settings import MAX_PAGE_SIZE

_ITEM = re.compile(r'\s*([^=,\s]+)\s*(?:=\s*("(?:[^"]*)"|[^,]*))?\s*(?:,|$)')


@dataclass
class Preferences:
    max_page_size: int | None = None
    annotations: list[str] = field(default_factory=list)  # patterns such as "*" or "OData.Community.*"
    return_representation: bool = False
    track_changes: bool = False
    applied: list[str] = field(default_factory=list)

    @property
    def page_size(self) -> int:
        return self.max_page_size or MAX_PAGE_SIZE

    def wants(self, annotation: str) -> bool:
        """Whether `annotation` (e.g. OData.Community.Display.V1.FormattedValue) was asked for."""
        hit = False
        for pattern in self.annotations:
            if pattern.startswith("-"):
                if fnmatch.fnmatchcase(annotation, pattern[1:]):
                    return False
            elif fnmatch.fnmatchcase(annotation, pattern):
                hit = True
        return hit

    def header(self) -> dict[str, str]:
        return {"Preference-Applied": ",".join(self.applied)} if self.applied else {}


def parse(header: str | None) -> Preferences:
    prefs = Preferences()
    if not header:
        return prefs
    for match in _ITEM.finditer(header):
        name, value = match.group(1), (match.group(2) or "").strip()
        if not name:
            continue
        key = name.lower()
        if key == "odata.maxpagesize":
            if not value.isdigit() or int(value) < 1:
                raise BadRequest(f"The value '{value}' of the odata.maxpagesize preference is not valid: it must be "
                                 f"a positive whole number of at most {MAX_PAGE_SIZE}.")
            prefs.max_page_size = min(int(value), MAX_PAGE_SIZE)
            prefs.applied.append(f"odata.maxpagesize={prefs.max_page_size}")
        elif key in ("odata.include-annotations", "include-annotations"):
            raw = value.strip('"')
            prefs.annotations = [p.strip() for p in raw.split(",") if p.strip()]
            prefs.applied.append(f'odata.include-annotations="{raw}"')
        elif key == "odata.track-changes":
            prefs.track_changes = True
            prefs.applied.append("odata.track-changes")
        elif key == "return" and value.lower() == "representation":
            prefs.return_representation = True
            prefs.applied.append("return=representation")
    return prefs
