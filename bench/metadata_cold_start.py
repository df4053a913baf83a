"""Issue 16: cold start with a 1,000-table imported $metadata file (bench/metadata_org.py makes it up), against the
default `serve`, alternated on the same machine. Process start to the first successful query of an imported table
(and of the conversations for the default serve), on an existing SQLite file. `python bench/metadata_cold_start.py`."""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.metadata_org import synthetic_csdl, table_name  # noqa: E402

NOW = "2026-01-15T12:00:00Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(database: str, query: str, *args: str, env: dict) -> float:
    """Seconds from process start to the first 200 of `query`; the server is stopped afterwards."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), "--database",
                                database, "--auth", "none", "--now", NOW, *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"serve exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                if requests.get(f"http://127.0.0.1:{port}{query}", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="metadata-bench-"))
    document = directory / "metadata.xml"
    document.write_bytes(synthetic_csdl(args.tables, args.columns))
    env = {**os.environ, "EMULATOR_METADATA_CACHE": str(directory / "cache")}
    imported_db = f"sqlite:///{directory / 'imported.db'}"
    default_db = f"sqlite:///{directory / 'default.db'}"
    imported_query = f"/api/data/v9.2/{table_name(args.tables - 1)}s?$select=new_name&$top=1"
    default_query = ("/api/data/v9.2/msdyn_ocliveworkitems?$select=msdyn_title&$filter=statuscode%20eq%203"
                     "&$orderby=createdon%20desc")
    print(f"{args.tables} tables x {args.columns} columns: {document.stat().st_size / 1e6:.1f} MB of CSDL")
    first = start(imported_db, imported_query, "--metadata", str(document), env=env)
    print(f"first start (cache miss, empty file: creates {args.tables} tables, seeds): {first:.2f} s")
    imported, default = [], []
    start(default_db, default_query, env=env)  # the default file seeded
    for _ in range(args.runs):
        imported.append(start(imported_db, imported_query, "--metadata", str(document), env=env))
        default.append(start(default_db, default_query, env=env))
    for label, samples in (("imported 1,000 tables, cached", imported), ("default serve", default)):
        print(f"{label}: p50 {statistics.median(samples) * 1000:.0f} ms (min {min(samples) * 1000:.0f}, "
              f"max {max(samples) * 1000:.0f}, {len(samples)} runs)")


if __name__ == "__main__":
    main()
