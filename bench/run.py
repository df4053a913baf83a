"""Benchmarks (not tests): seeding, getConversations end to end, throughput under concurrent clients against
datasette on the same file, the web framework's floor, cold start, reset, on SQLite and PostgreSQL. `make bench`.

    .venv/bin/python bench/run.py [--sizes 10000 100000] [--max 1000000] [--requests 300] [--postgres URL]
                                  [--idle 180] [--only floor getconversations]
    (BENCH_MAX=1000000 is --max 1000000)

Writes bench/results/<UTC time>.json (machine, versions, every figure), bench/results/latency-vs-size.png and the
summary tables in BENCHMARKS.md. `--only` measures just the figures named (the floor at --floor-at conversations;
getConversations server-side over raw SQL at every size), writes bench/results/<UTC time>-only.json and prints their
table, leaving BENCHMARKS.md alone: a before/after comparison in minutes rather than the whole run. Machines are
noisy: read medians and ratios, not single figures."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bare_route import app_from_cli  # noqa: E402
from harness import (  # noqa: E402
    AUTH,
    BARE_PATH,
    CLI,
    NOW,
    ROOT,
    SERVICE_DOCUMENT,
    Server,
    has_wrk,
    machine,
    summary,
    timed_cpu,
    timed_pair,
    wrk,
)
from peers import Datasette  # noqa: E402
from reset_bench import run as reset_costs  # noqa: E402

from emulator.omnichannel import Omnichannel  # noqa: E402
from emulator.omnichannel.request import build  # noqa: E402

STATUSES = [2, 3, 4]  # active, waiting, wrap-up: about half of an agent's conversations
DAYS = 90  # createdBeforeDays
PG_SCHEMA = "emulator_bench"  # generated here, dropped before and after
ONLY = ("floor", "getconversations")  # the figures --only can single out


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
            options = quote(f"-csearch_path={PG_SCHEMA},public")
            self.url = f"{postgres}{'&' if '?' in postgres else '?'}options={options}"

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


def captured(store: Store, url_path: str) -> tuple[sa.Engine, str, tuple]:
    """The SELECT the emulator's own engine runs for `url_path` (captured with a SQLAlchemy event, Flask test
    client on the app `serve` builds), and that engine (same pragmas): the caller disposes of it."""
    seen: list[tuple[sa.engine.Connection, str, tuple]] = []

    def capture(conn, cursor, statement, params, context, many) -> None:
        seen.append((conn, statement, params))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        app = app_from_cli("--database", store.url, "--no-baseline", "--now", NOW)
        response = app.test_client().get(url_path, headers=AUTH)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", capture)
    assert response.status_code == 200, response.data
    conn, statement, params = [s for s in seen if s[1].lstrip().upper().startswith("SELECT")
                               and "msdyn_ocliveworkitem" in s[1]][-1]
    return conn.engine, statement, params


def raw_sql(engine: sa.Engine, statement: str, params: tuple, count: int) -> dict:
    """The statement run `count` times on a raw DB-API cursor: wall-time summary and CPU ms per run."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        samples, cpu_ms = timed_cpu(lambda: (cursor.execute(statement, params), cursor.fetchall()), count)
        raw.rollback()
    finally:
        raw.close()
    return {**summary(samples), "cpu_ms": round(cpu_ms, 3)}


def over_sql(server: Server, url: str, engine: sa.Engine, statement: str, params: tuple, args) -> dict:
    """getConversations server-side (wrk, 1 connection) over its raw SQL, in `--rounds` rounds that alternate the
    two so that drift weighs on both alike; p50 and CPU per request, each the median of its rounds'."""
    rounds: dict[str, list[dict]] = {"server": [], "raw_sql": []}
    for _ in range(args.rounds):
        rounds["server"].append(wrk_cpu(server, url, 1, args.round_seconds))
        rounds["raw_sql"].append(raw_sql(engine, statement, params, args.requests))
    m = {side: {key: round(statistics.median(r[key] for r in runs), 3) for key in ("p50_ms", "cpu_ms")}
         for side, runs in rounds.items()}
    return {**m, "ratio": round(m["server"]["p50_ms"] / m["raw_sql"]["p50_ms"], 1),
            "cpu_ratio": round(m["server"]["cpu_ms"] / m["raw_sql"]["cpu_ms"], 1), "rounds": rounds}


def wanted(args, figure: str) -> bool:
    return args.only is None or figure in args.only


def wrk_cpu(server: Server, url: str, connections: int, seconds: float) -> dict:
    """`wrk` against the server, plus its workers' CPU ms per request over the run."""
    cpu = server.children_cpu_seconds()
    run = wrk(url, connections=connections, seconds=seconds, headers=AUTH)
    return {**run, "cpu_ms": round((server.children_cpu_seconds() - cpu) * 1000 / run["requests"], 3)}


def framework_floor(server: Server, record_id: str, args) -> dict:
    """p50 server-side (wrk, 1 connection) and the workers' CPU per request for the service document, one record
    with $select of one column, the full record and the bare route, and each over the bare route's. `--rounds`
    rounds, each in a rotated order so that drift on a noisy machine weighs on all alike; a figure is the median of
    its rounds'."""
    record = f"{server.url}{SERVICE_DOCUMENT}msdyn_ocliveworkitems({record_id})"
    urls = {"bare route": server.url + BARE_PATH, "service document": server.url + SERVICE_DOCUMENT,
            "record, $select of one column": f"{record}?$select=msdyn_title", "full record": record}
    names = list(urls)
    rounds: dict[str, list[dict]] = {name: [] for name in names}
    for i in range(args.rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            rounds[name].append(wrk_cpu(server, urls[name], 1, args.round_seconds))
    medians = {name: {key: round(statistics.median(r[key] for r in runs), 3) for key in ("p50_ms", "cpu_ms")}
               for name, runs in rounds.items()}
    bare = medians["bare route"]
    return {name: {**m, "over_bare": round(m["p50_ms"] / bare["p50_ms"], 2),
                   "cpu_over_bare": round(m["cpu_ms"] / bare["cpu_ms"], 2), "rounds": rounds[name]}
            for name, m in medians.items()}


def measure(store: Store, args, *, largest: bool) -> dict:
    agent, agent_rows, record_id = store.busiest_agent()
    request = {"agentId": agent, "status": STATUSES, "createdBeforeDays": DAYS,
               "orderBy": [{"attributeName": "createdon", "descending": True}]}
    result: dict = {"agent_conversations": agent_rows}
    full = args.only is None
    with Server(store.url, "--no-baseline", "--now", NOW, bare=True) as server:
        server.wait(BARE_PATH)
        if wanted(args, "floor") and store.size == args.floor_at and has_wrk():
            result["floor"] = framework_floor(server, record_id, args)
        if not wanted(args, "getconversations"):
            return result
        client = Omnichannel(server.url, "bench")
        url = client.conversations_url(build(request))
        record_url = f"{server.url}{SERVICE_DOCUMENT}msdyn_ocliveworkitems({record_id})"
        result["matching"] = len(client.get_conversations(request))
        engine, result["sql"], params = captured(store, url[len(server.url):])
        try:
            result["raw_sql"] = raw_sql(engine, result["sql"], params, args.requests)
            if has_wrk():
                result["over_sql"] = over_sql(server, url, engine, result["sql"], params, args)
        finally:
            engine.dispose()
        if not full:
            return result
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
    pairs = list(zip(ours, runs, strict=True))
    return {"rows": rows, "throughput": runs,
            "emulator_over_datasette_rps": [round(o["rps"] / d["rps"], 2) for o, d in pairs],
            "emulator_over_datasette_p50": [round(o["p50_ms"] / d["p50_ms"], 2) for o, d in pairs]}


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
    parser.add_argument("--max", type=int, default=int(os.environ.get("BENCH_MAX") or 0) or None,
                        help="one more, larger size, e.g. 1000000 (env BENCH_MAX)")
    parser.add_argument("--only", nargs="+", choices=ONLY, default=None,
                        help="measure only these figures; BENCHMARKS.md is left alone")
    parser.add_argument("--floor-at", type=int, default=100000,
                        help="conversations in the database the framework floor is measured on")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the floor's and of getConversations-over-raw-SQL's measurements")
    parser.add_argument("--round-seconds", type=float, default=5, help="length of each wrk run in those rounds")
    parser.add_argument("--requests", type=int, default=300, help="requests per latency measurement")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8], help="wrk connection counts")
    parser.add_argument("--idle", type=int, default=180, help="seconds the largest SQLite server sits idle "
                        "before it is measured again (0: skip)")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL"),
                        help="a PostgreSQL URL: the same benchmarks there too (env BENCH_POSTGRES_URL)")
    args = parser.parse_args()
    needed = {args.floor_at} if args.only == ["floor"] else set(args.sizes + ([args.max] if args.max else []))
    if args.only and "floor" in args.only:
        needed.add(args.floor_at)
    sizes = sorted(needed)
    if not has_wrk():
        print("wrk is not installed: throughput, datasette and the floor are skipped (apt-get install wrk)",
              file=sys.stderr)
    results: dict = {"when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
                     "settings": {"requests": args.requests, "statuses": STATUSES, "createdBeforeDays": DAYS,
                                  "wrk_seconds": args.seconds, "connections": args.connections,
                                  "rounds": args.rounds, "round_seconds": args.round_seconds,
                                  "only": args.only},
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
                    print(f"{backend} {size}: " + ", ".join(f"{k} {v}" for k, v in progress(g).items()),
                          file=sys.stderr)
                finally:
                    store.close()
        if args.only is None:
            results["cold_start"] = cold_start(directory, args.cold_runs)
            results["reset"] = reset_costs(1000, 15, directory)
    stem = results["when"].replace(":", "") + ("-only" if args.only else "")
    out = ROOT / "bench" / "results" / f"{stem}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    from report import layers_table, plot, write_benchmarks_md
    if args.only:
        print(f"Figures: bench/results/{out.name}\n\n{layers_table(results)}")
        return
    plot(results, ROOT / "bench" / "results" / "latency-vs-size.png")
    print(write_benchmarks_md(results, out, ROOT / "BENCHMARKS.md"))


def progress(g: dict) -> dict:
    """A size's headline p50s in ms, for the log."""
    out = {name: f["p50_ms"] for name, f in g.get("floor", {}).items()}
    for name, key in (("client", "reference_client"), ("bare GET", "bare_get"), ("raw SQL", "raw_sql")):
        if key in g:
            out[name] = g[key]["p50_ms"]
    return out


if __name__ == "__main__":
    main()
