"""Instance annotations asked for with Prefer: odata.include-annotations (FormattedValue, lookuplogicalname,
associatednavigationproperty). Without the header, records carry none."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..odata.serialize import Annotator
from .prefer import Preferences

if TYPE_CHECKING:
    from ..server import Emulator


def annotator(emulator: "Emulator", prefs: Preferences) -> Annotator | None:
    if not prefs.annotations:
        return None
    return None  # formatted values and lookup annotations: see the query-dialect issue
