"""An independent evaluator for the differential oracle: rows fetched once with plain SQL, a tiny $filter
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
