"""The peer the issue compares us with: datasette's SQL JSON endpoint serving the same SQLite file."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlencode

from harness import Process, free_port


class Datasette(Process):
    """`datasette serve --immutable FILE`: its fastest configuration for a read-only file."""

    def __init__(self, path: Path) -> None:
        port = free_port()
        self.database = path.stem
        super().__init__([sys.executable, "-m", "datasette", "serve", "--immutable", str(path), "--host", "127.0.0.1",
                          "--port", str(port), "--setting", "sql_time_limit_ms", "10000"], port)

    def query_path(self, statement: str, params: tuple) -> str:
        """The emulator's captured SELECT as a datasette query: `?` placeholders become named parameters (datasette
        passes them as text, so the integers go in as literals to keep SQLite's comparisons and LIMIT the same)."""
        values = iter(params)
        named: dict[str, str] = {}

        def placeholder(_match: re.Match) -> str:
            value = next(values)
            if isinstance(value, int):
                return str(value)
            named[f"p{len(named)}"] = value
            return f":p{len(named) - 1}"

        sql = re.sub(r"\?", placeholder, statement)
        return f"/{self.database}.json?" + urlencode({"sql": sql, "_shape": "array", **named})
