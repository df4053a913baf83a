"""Benchmark (not a test): what POST /_emulator/reset costs for 1,000 and 10,000 conversations, against reseeding.

    .venv/bin/python bench/reset_bench.py [--sizes 1000 10000] [--repeat 15]

Each case goes through the control plane with the Flask test client on a SQLite file, as a test suite's
between-test reset does; medians in milliseconds."""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from emulator.app import create_app
from emulator.server import prepare
from emulator.settings import Settings
from emulator.store.seed import seed

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def median_ms(action, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(size: int, repeat: int, directory: Path) -> dict[str, float]:
    emulator = prepare(Settings(database_url=f"sqlite:///{directory / f'bench{size}.db'}", load="never",
                                now=NOW.isoformat()))
    started = time.perf_counter()
    seed(emulator.db, conversations=size, now=NOW)
    reseed = (time.perf_counter() - started) * 1000
    app = create_app(emulator)
    client = app.test_client()
    db = emulator.db
    conversations, contacts = db.tables["msdyn_ocliveworkitem"], db.tables["contact"]

    def reset():
        assert client.post("/_emulator/reset").status_code == 200

    def update_one():  # a test that changed one conversation
        with db.engine.begin() as conn:
            first = conn.execute(sa.select(conversations.c.activityid).limit(1)).scalar_one()
            conn.execute(conversations.update().where(conversations.c.activityid == first)
                         .values(msdyn_title="changed", versionnumber=10**9))

    def write_everywhere():  # a test that wrote to every table
        with db.engine.begin() as conn:
            for table in db.tables.values():
                conn.execute(table.delete())

    def touch_contacts():
        with db.engine.begin() as conn:
            conn.execute(contacts.update().values(telephone1="+1-555-0000"))

    results = {
        "reset, nothing written": median_ms(reset, repeat, before=reset),
        "reset, one conversation updated": median_ms(reset, repeat, before=update_one),
        "reset, every contact updated": median_ms(reset, repeat, before=touch_contacts),
        "reset, every table emptied": median_ms(reset, repeat, before=write_everywhere),
        "save a snapshot": median_ms(lambda: client.post("/_emulator/snapshots", json={"name": "bench"}),
                                     max(3, repeat // 3)),
        "reseed with the generator (for comparison)": reseed,
    }
    db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rows = {size: run(size, args.repeat, Path(directory)) for size in args.sizes}
    cases = list(next(iter(rows.values())))
    print("| case (median ms) | " + " | ".join(f"{s:,} conversations" for s in args.sizes) + " |")
    print("|---|" + "---:|" * len(args.sizes))
    for case in cases:
        print(f"| {case} | " + " | ".join(f"{rows[s][case]:.1f}" for s in args.sizes) + " |")


if __name__ == "__main__":
    main()
