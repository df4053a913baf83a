"""Where a full-record GET spends its time: cProfile of `--requests` GETs of one conversation through the Flask test
client, on an app built by `dataverse-emulator serve` itself over a seeded SQLite file.

    .venv/bin/python bench/profile_get.py [--conversations 100000] [--requests 1000] [--top 25]
                                          [--under PATH:FUNCTION ...] [--database URL]

Prints the time the same GETs take without the profiler (elapsed and this process's CPU: on a loaded machine the
CPU figure moves less), the profile's top functions by cumulative time, its total, and the cumulative time under
each `--under` function (path suffix:name). The profile counts elapsed time (a CPU-time timer is a system call per
function call, which would swamp the figures); read its shares rather than its seconds on a loaded machine."""
from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bare_route import app_from_cli  # noqa: E402
from harness import AUTH, CLI, NOW, ROOT, SERVICE_DOCUMENT  # noqa: E402

UNDER = ("store/query.py:get_one",  # the record's SELECT, built and run
         "sqlalchemy/sql/operators.py:__eq__",  # a Column == Column builds an expression (issue 15: `not in`)
         "sqlalchemy/sql/cache_key.py:_generate_cache_key")  # paid when a statement is rebuilt per request


def seeded(directory: Path, conversations: int) -> str:
    url = f"sqlite:///{directory / f'profile{conversations}.db'}"
    subprocess.run([*CLI, "seed", "--database", url, "--conversations", str(conversations), "--agents",
                    str(max(1, conversations // 100)), "--now", NOW], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return url


def under(stats: pstats.Stats, where: str) -> float:
    """Cumulative seconds in the functions named `path suffix:name`; when several match (SQLAlchemy has nested
    functions of one name), time one of them spends in another counts once."""
    path, name = where.rsplit(":", 1)
    entries = stats.stats  # type: ignore[attr-defined]
    matches = {key for key in entries if key[2] == name and key[0].endswith(path)}
    return sum(entries[key][3] - sum(edge[3] for caller, edge in entries[key][4].items()
                                     if caller in matches and caller != key)
               for key in matches)


def profile(database: str, args) -> None:
    app = app_from_cli("--database", database, "--no-baseline", "--now", NOW)
    client = app.test_client()
    first = client.get(f"{SERVICE_DOCUMENT}msdyn_ocliveworkitems?$select=activityid&$top=1", headers=AUTH)
    url = f"{SERVICE_DOCUMENT}msdyn_ocliveworkitems({first.get_json()['value'][0]['activityid']})"

    def gets() -> None:
        for _ in range(args.requests):
            response = client.get(url, headers=AUTH)
            assert response.status_code == 200, response.data

    gets()  # warm-up: caches, connections, the file's pages
    started, cpu = time.perf_counter(), time.process_time()
    gets()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    profiler = cProfile.Profile()
    profiler.runcall(gets)
    stats = pstats.Stats(profiler)
    print(f"{args.requests} full-record GETs of {url} without the profiler: {wall:.3f} s elapsed, {cpu:.3f} s CPU "
          f"({cpu / args.requests * 1000:.3f} ms CPU each)\n")
    stats.sort_stats("cumulative").print_stats(args.top)
    print(f"profiled total: {stats.total_tt:.3f} s")  # type: ignore[attr-defined]
    for where in args.under:
        seconds = under(stats, where)
        print(f"under {where}: {seconds:.3f} s ({seconds / stats.total_tt:.0%})")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100000, help="seeded into a temporary SQLite file")
    parser.add_argument("--database", help="profile on this database instead (seeded already)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25, help="functions listed, by cumulative time")
    parser.add_argument("--under", nargs="+", default=list(UNDER),
                        help="functions (path suffix:name) whose cumulative time is printed")
    args = parser.parse_args()
    if args.database:
        profile(args.database, args)
        return
    with tempfile.TemporaryDirectory(prefix="emulator-profile-") as directory:
        profile(seeded(Path(directory), args.conversations), args)


if __name__ == "__main__":
    main()
