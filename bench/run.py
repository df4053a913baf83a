"""Benchmarks (not tests): seeding, getConversations end to end against gunicorn, cold start. `make bench`.

    .venv/bin/python bench/run.py [--sizes 10000 100000] [--requests 300]     (BENCH_MAX=1000000 adds 1M)

Writes bench/results/<UTC time>.json (machine, versions, every figure) and the summary table in BENCHMARKS.md.
Machines are noisy: read medians and ratios, not single figures."""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emulator.omnichannel import Omnichannel  # noqa: E402

NOW = "2026-01-15T12:00:00Z"
CLI = [sys.executable, "-c", "from emulator.cli import main; main()"]
AUTH = {"Authorization": "Bearer bench"}
STATUSES = [2, 3, 4]  # active, waiting, wrap-up: about half of an agent's conversations
DAYS = 90  # createdBeforeDays


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    from importlib.metadata import version
    return {"nproc": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": version("sqlalchemy"), "flask": version("flask"), "gunicorn": version("gunicorn")}


def summary(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    q1, _, q3 = statistics.quantiles(ordered, n=4)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 3),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
            "iqr_ms": round(q3 - q1, 3), "min_ms": round(ordered[0], 3)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_file(path: Path, conversations: int) -> dict:
    """Seed in a child process; wall time and that child's peak resident memory (wait4's ru_maxrss, KiB)."""
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    child = subprocess.Popen([*CLI, "seed", "--database", f"sqlite:///{path}", "--conversations", str(conversations),
                              "--agents", str(max(1, conversations // 100)), "--now", NOW],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"seeding {conversations} failed ({status})")
    return {"conversations": conversations, "seconds": round(seconds, 2),
            "per_second": round(conversations / seconds), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "file_mb": round(path.stat().st_size / 2**20, 1)}


class Server:
    """`serve` in a child process on a free port; `workers` None is the development server."""

    def __init__(self, database: str, *args: str, workers: int | None = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = ["--workers", str(workers)] if workers else []
        self.started = time.perf_counter()
        self.process = subprocess.Popen([*CLI, "serve", "--port", str(self.port), "--database", database, *extra,
                                         *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)

    def wait(self, path: str = "/_emulator/health") -> float:
        """Seconds from process start to the first 200 on `path`."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("server exited")
            try:
                if requests.get(self.url + path, headers=AUTH, timeout=5).status_code == 200:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                time.sleep(0.005)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def busiest_agent(path: Path) -> tuple[str, int]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT msdyn_activeagentid, count(*) FROM msdyn_ocliveworkitem "
                            "WHERE msdyn_activeagentid IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()


def captured_sql(path: Path, url_path: str) -> tuple[str, tuple]:
    """The SELECT the emulator runs for `url_path`, captured from its own engine (Flask test client, same file)."""
    import sqlalchemy as sa

    from emulator.server import Emulator
    from emulator.settings import Settings
    from emulator.webapi import create_app

    emulator = Emulator.from_settings(Settings(database_url=f"sqlite:///{path}", now=NOW))
    emulator.baseline = False
    app = create_app(emulator)
    seen: list[tuple[str, tuple]] = []
    sa.event.listen(emulator.db.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, params, context, many: seen.append((statement, params)))
    response = app.test_client().get(url_path, headers=AUTH)
    assert response.status_code == 200, response.data
    emulator.db.dispose()
    selects = [s for s in seen if s[0].lstrip().upper().startswith("SELECT") and "msdyn_ocliveworkitem" in s[0]]
    return selects[-1]


def timed(action, count: int) -> list[float]:
    for _ in range(min(20, count)):  # warm-up: connections, caches
        action()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def get_conversations(path: Path, count: int) -> dict:
    agent, agent_rows = busiest_agent(path)
    request = {"agentId": agent, "status": STATUSES, "createdBeforeDays": DAYS,
               "orderBy": [{"attributeName": "createdon", "descending": True}]}
    server = Server(f"sqlite:///{path}", "--no-baseline", "--now", NOW)
    try:
        server.wait()
        client = Omnichannel(server.url, "bench")
        url = client.conversations_url(__import__("emulator.omnichannel.request", fromlist=["build"]).build(request))
        matching = len(client.get_conversations(request))
        reference = timed(lambda: client.get_conversations(request), count)
        session = requests.Session()
        bare = timed(lambda: session.get(url, headers=AUTH, timeout=30).content, count)
    finally:
        server.stop()
    statement, params = captured_sql(path, url[len(server.url):])
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA cache_size=-262144")
    floor = timed(lambda: conn.execute(statement, params).fetchall(), count)
    conn.close()
    result = {"agent_conversations": agent_rows, "matching": matching, "reference_client": summary(reference),
              "bare_get": summary(bare), "raw_sql": summary(floor), "sql": statement}
    result["client_over_bare"] = round(result["reference_client"]["p50_ms"] / result["bare_get"]["p50_ms"], 2)
    result["bare_over_sql"] = round(result["bare_get"]["p50_ms"] / result["raw_sql"]["p50_ms"], 1)
    return result


def cold_start(directory: Path, runs: int) -> dict:
    """Process start to the first successful getConversations-shaped query, default data (500 conversations)."""
    database = f"sqlite:///{directory / 'default.db'}"
    query = ("/api/data/v9.2/msdyn_ocliveworkitems?$select=msdyn_title&$filter=statuscode%20eq%203"
             "&$orderby=createdon%20desc")
    first = Server(database, "--now", NOW, workers=None)  # empty file: seeds the default data set and a baseline
    try:
        empty_file = first.wait(query)
    finally:
        first.stop()
    times = {}
    for label, workers in (("development server", None), ("gunicorn 2 workers", 2)):
        samples = []
        for _ in range(runs):
            server = Server(database, "--now", NOW, workers=workers)
            try:
                samples.append(server.wait(query) * 1000)
            finally:
                server.stop()
        times[label] = summary(samples)
    return {"empty_file_seconds": round(empty_file, 2), "existing_file": times}


def table(results: dict) -> str:
    lines = ["| measurement | size | figure |", "|---|---|---|"]
    for s in results["seeding"]:
        lines.append(f"| seed (subprocess) | {s['conversations']:,} | {s['seconds']} s ({s['per_second']:,}/s), "
                     f"peak RSS {s['peak_rss_mb']} MB, file {s['file_mb']} MB |")
    for size, g in results["get_conversations"].items():
        lines.append(f"| getConversations, reference client over HTTP (gunicorn 2 sync workers) | {int(size):,} | "
                     f"p50 {g['reference_client']['p50_ms']} ms, p99 {g['reference_client']['p99_ms']} ms "
                     f"({g['matching']} of the agent's {g['agent_conversations']} rows) |")
        lines.append(f"| same URL, bare `requests` GET | {int(size):,} | p50 {g['bare_get']['p50_ms']} ms, "
                     f"p99 {g['bare_get']['p99_ms']} ms; client/bare {g['client_over_bare']}x |")
        lines.append(f"| same SQL on the same file (sqlite3, the floor) | {int(size):,} | "
                     f"p50 {g['raw_sql']['p50_ms']} ms, p99 {g['raw_sql']['p99_ms']} ms; "
                     f"bare GET/SQL {g['bare_over_sql']}x |")
    c = results["cold_start"]
    lines.append(f"| cold start, empty file (seeds 500, baseline) | 500 | {c['empty_file_seconds']} s |")
    for label, s in c["existing_file"].items():
        lines.append(f"| cold start to first query, {label} | 500 | p50 {s['p50_ms']:.0f} ms "
                     f"(min {s['min_ms']:.0f}, IQR {s['iqr_ms']:.0f}, {s['n']} runs) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--requests", type=int, default=300, help="requests per latency measurement")
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([int(os.environ["BENCH_MAX"])] if os.environ.get("BENCH_MAX") else [])))
    results: dict = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
                     "settings": {"requests": args.requests, "statuses": STATUSES, "createdBeforeDays": DAYS},
                     "seeding": [], "get_conversations": {}}
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        directory = Path(tmp)
        for size in sizes:
            path = directory / f"bench{size}.db"
            results["seeding"].append(seed_file(path, size))
            print(f"seeded {results['seeding'][-1]}", file=sys.stderr)
            g = get_conversations(path, args.requests)
            results["get_conversations"][str(size)] = g
            print(f"getConversations {size}: client {g['reference_client']['p50_ms']} ms, bare "
                  f"{g['bare_get']['p50_ms']} ms, sql {g['raw_sql']['p50_ms']} ms", file=sys.stderr)
            path.unlink()
        results["cold_start"] = cold_start(directory, args.cold_runs)
    out = ROOT / "bench" / "results" / f"{results['when'].replace(':', '')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    text = (f"# Benchmarks\n\n`make bench` (bench/run.py) wrote this on {results['when']}: {m['nproc']} x {m['cpu']}, "
            f"Python {m['python']}, SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, gunicorn {m['gunicorn']}. "
            f"Full figures: bench/results/{out.name}. {args.requests} requests per latency row after 20 warm-up "
            f"requests; medians and ratios are the figures to trust on a noisy machine.\n\n{table(results)}\n")
    history = ROOT / "BENCHMARKS.md"
    notes = history.read_text().split("\n## Notes", 1)[1] if history.exists() and "\n## Notes" in \
        history.read_text() else "\n"
    history.write_text(text + "\n## Notes" + notes)
    print(table(results))


if __name__ == "__main__":
    main()
