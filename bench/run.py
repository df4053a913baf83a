"""Benchmarks (not tests): seeding, getConversations end to end, throughput under concurrent clients against
datasette on the same file, cold start, reset, on SQLite and PostgreSQL. `make bench`.

    .venv/bin/python bench/run.py [--sizes 10000 100000] [--requests 300] [--postgres URL] [--idle 180]
    (BENCH_MAX=1000000 adds a million conversations)

Writes bench/results/<UTC time>.json (machine, versions, every figure), bench/results/latency-vs-size.png and the
summary tables in BENCHMARKS.md. Machines are noisy: read medians and ratios, not single figures."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import AUTH, CLI, NOW, ROOT, Server, has_wrk, machine, summary, timed, timed_pair, wrk  # noqa: E402
from peers import Datasette  # noqa: E402
from reset_bench import run as reset_costs  # noqa: E402

from emulator.omnichannel import Omnichannel  # noqa: E402
from emulator.omnichannel.request import build  # noqa: E402

STATUSES = [2, 3, 4]  # active, waiting, wrap-up: about half of an agent's conversations
DAYS = 90  # createdBeforeDays
PG_SCHEMA = "emulator_bench"  # generated here, dropped before and after


def seed(database: str, conversations: int) -> dict:
    """Seed in a child process; wall time and that child's peak resident memory (wait4's ru_maxrss, KiB)."""
    started = time.perf_counter()
    child = subprocess.Popen([*CLI, "seed", "--database", database, "--conversations", str(conversations),
                              "--agents", str(max(1, conversations // 100)), "--now", NOW],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"seeding {conversations} into {database} failed ({status})")
    return {"conversations": conversations, "seconds": round(seconds, 2),
            "per_second": round(conversations / seconds), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


class Store:
    """One benchmark database: a SQLite file in a temporary folder, or a schema of its own on PostgreSQL."""

    def __init__(self, backend: str, directory: Path, size: int, postgres: str | None) -> None:
        self.backend, self.size = backend, size
        if backend == "sqlite":
            self.path = directory / f"bench{size}.db"
            self.path.unlink(missing_ok=True)
            self.url = f"sqlite:///{self.path}"
        else:
            self.admin = sa.create_engine(postgres)
            self._drop()
            with self.admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{PG_SCHEMA}"'))  # a constant of ours, not input
            self.url = f"{postgres}{'&' if '?' in postgres else '?'}options={quote(f'-csearch_path={PG_SCHEMA},public')}"

    def _drop(self) -> None:
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))

    def size_mb(self) -> float:
        if self.backend == "sqlite":
            return round(self.path.stat().st_size / 2**20, 1)
        engine = sa.create_engine(self.url)
        with engine.connect() as conn:
            total = conn.execute(sa.text("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN "
                                         "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s "
                                         "AND c.relkind = 'r'"), {"s": PG_SCHEMA}).scalar()
        engine.dispose()
        return round(float(total) / 2**20, 1)

    def busiest_agent(self) -> tuple[str, int, str]:
        """The agent with the most conversations, their count, and one of their conversations' ids."""
        engine = sa.create_engine(self.url)
        with engine.connect() as conn:
            agent, count = conn.execute(sa.text(
                "SELECT msdyn_activeagentid, count(*) FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid IS NOT "
                "NULL GROUP BY msdyn_activeagentid ORDER BY 2 DESC, 1 LIMIT 1")).one()
            one = conn.execute(sa.text("SELECT activityid FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid = :a "
                                       "ORDER BY activityid LIMIT 1"), {"a": agent}).scalar()
        engine.dispose()
        return str(agent), count, str(one)

    def close(self) -> None:
        if self.backend == "sqlite":
            self.path.unlink(missing_ok=True)
        else:
            self._drop()
            self.admin.dispose()


def floor(store: Store, url_path: str, count: int) -> tuple[dict, str, tuple]:
    """The SELECT the emulator's own engine runs for `url_path` (captured with a SQLAlchemy event, Flask test
    client), then that statement run `count` times on a raw DB-API cursor of the same engine (same pragmas)."""
    from emulator.app import create_app
    from emulator.server import prepare
    from emulator.settings import Settings

    emulator = prepare(Settings(database_url=store.url, now=NOW, load="never", baseline=False))
    seen: list[tuple[str, tuple]] = []
    sa.event.listen(emulator.db.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, params, context, many: seen.append((statement, params)))
    response = create_app(emulator).test_client().get(url_path, headers=AUTH)
    assert response.status_code == 200, response.data
    statement, params = [s for s in seen if s[0].lstrip().upper().startswith("SELECT")
                         and "msdyn_ocliveworkitem" in s[0]][-1]
    raw = emulator.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        samples = timed(lambda: (cursor.execute(statement, params), cursor.fetchall()), count)
        raw.rollback()
    finally:
        raw.close()
        emulator.db.dispose()
    return summary(samples), statement, params


def measure(store: Store, args, *, largest: bool) -> dict:
    agent, agent_rows, record_id = store.busiest_agent()
    request = {"agentId": agent, "status": STATUSES, "createdBeforeDays": DAYS,
               "orderBy": [{"attributeName": "createdon", "descending": True}]}
    result: dict = {"agent_conversations": agent_rows}
    with Server(store.url, "--no-baseline", "--now", NOW) as server:
        server.wait()
        client = Omnichannel(server.url, "bench")
        url = client.conversations_url(build(request))
        record_url = f"{server.url}/api/data/v9.2/msdyn_ocliveworkitems({record_id})"
        result["matching"] = len(client.get_conversations(request))
        session = requests.Session()
        reference, bare = timed_pair(lambda: client.get_conversations(request),
                                     lambda: session.get(url, headers=AUTH, timeout=30).content, args.requests)
        result["reference_client"], result["bare_get"] = summary(reference), summary(bare)
        if has_wrk():
            result["throughput"] = {
                "getConversations": [wrk(url, connections=c, seconds=args.seconds, headers=AUTH)
                                     for c in args.connections],
                "single record": [wrk(record_url, connections=c, seconds=args.seconds, headers=AUTH)
                                  for c in args.connections]}
            if largest and args.idle:
                print(f"idle for {args.idle} s", file=sys.stderr)
                time.sleep(args.idle)
                started = time.perf_counter()
                session.get(url, headers=AUTH, timeout=30).raise_for_status()
                result["after_idle"] = {"idle_seconds": args.idle,
                                        "first_ms": round((time.perf_counter() - started) * 1000, 3),
                                        **wrk(url, connections=1, seconds=args.seconds, headers=AUTH)}
    result["raw_sql"], result["sql"], params = floor(store, url[len(server.url):], args.requests)
    result["client_over_bare"] = round(result["reference_client"]["p50_ms"] / result["bare_get"]["p50_ms"], 2)
    if store.backend == "sqlite" and has_wrk():
        result["datasette"] = datasette(store, result, params, args)
    return result


def datasette(store: Store, result: dict, params: tuple, args) -> dict:
    with Datasette(store.path) as peer:
        peer.wait("/-/versions.json")
        url = peer.url + peer.query_path(result["sql"], params)
        rows = len(requests.get(url, timeout=30).json())
        assert rows == result["matching"], f"datasette returned {rows} rows, the emulator {result['matching']}"
        runs = [wrk(url, connections=c, seconds=args.seconds) for c in args.connections]
    ours = result["throughput"]["getConversations"]
    return {"rows": rows, "throughput": runs,
            "emulator_over_datasette_rps": [round(o["rps"] / d["rps"], 2) for o, d in zip(ours, runs)],
            "emulator_over_datasette_p50": [round(o["p50_ms"] / d["p50_ms"], 2) for o, d in zip(ours, runs)]}


def cold_start(directory: Path, runs: int) -> dict:
    """Process start to the first successful getConversations-shaped query, default data (500 conversations)."""
    database = f"sqlite:///{directory / 'default.db'}"
    query = ("/api/data/v9.2/msdyn_ocliveworkitems?$select=msdyn_title&$filter=statuscode%20eq%203"
             "&$orderby=createdon%20desc")
    with Server(database, "--now", NOW, workers=None) as first:  # empty file: seeds the default data, baseline
        empty_file = first.wait(query)
    times = {}
    for label, workers in (("development server", None), ("gunicorn 2 workers", 2)):
        samples = []
        for _ in range(runs):
            with Server(database, "--now", NOW, workers=workers) as server:
                samples.append(server.wait(query) * 1000)
        times[label] = summary(samples)
    return {"empty_file_seconds": round(empty_file, 2), "existing_file": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--requests", type=int, default=300, help="requests per latency measurement")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8], help="wrk connection counts")
    parser.add_argument("--idle", type=int, default=180, help="seconds the largest SQLite server sits idle "
                        "before it is measured again (0: skip)")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL"),
                        help="a PostgreSQL URL: the same benchmarks there too (env BENCH_POSTGRES_URL)")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([int(os.environ["BENCH_MAX"])] if os.environ.get("BENCH_MAX") else [])))
    if not has_wrk():
        print("wrk is not installed: throughput and datasette are skipped (apt-get install wrk)", file=sys.stderr)
    results: dict = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
                     "settings": {"requests": args.requests, "statuses": STATUSES, "createdBeforeDays": DAYS,
                                  "wrk_seconds": args.seconds, "connections": args.connections},
                     "backends": {}}
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        directory = Path(tmp)
        for backend in backends:
            figures = results["backends"][backend] = {"seeding": [], "get_conversations": {}}
            for size in sizes:
                store = Store(backend, directory, size, args.postgres)
                try:
                    seeded = seed(store.url, size)
                    seeded["stored_mb"] = store.size_mb()
                    figures["seeding"].append(seeded)
                    print(f"{backend} seeded {seeded}", file=sys.stderr)
                    g = figures["get_conversations"][str(size)] = measure(
                        store, args, largest=backend == "sqlite" and size == sizes[-1])
                    print(f"{backend} getConversations {size}: client {g['reference_client']['p50_ms']} ms, bare "
                          f"{g['bare_get']['p50_ms']} ms, sql {g['raw_sql']['p50_ms']} ms", file=sys.stderr)
                finally:
                    store.close()
        results["cold_start"] = cold_start(directory, args.cold_runs)
        results["reset"] = reset_costs(1000, 15, directory)
    out = ROOT / "bench" / "results" / f"{results['when'].replace(':', '')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    from report import plot, write_benchmarks_md
    plot(results, ROOT / "bench" / "results" / "latency-vs-size.png")
    print(write_benchmarks_md(results, out, ROOT / "BENCHMARKS.md"))


if __name__ == "__main__":
    main()
