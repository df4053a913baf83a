"""What every benchmark needs: the machine's description, summaries, child-process servers and wrk."""
from __future__ import annotations

import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-01-15T12:00:00Z"
CLI = [sys.executable, "-c", "from emulator.cli import main; main()"]
AUTH = {"Authorization": "Bearer bench"}
WRK_REPORT = Path(__file__).with_name("wrk_report.lua")
SERVICE_DOCUMENT = "/api/data/v9.2/"
BARE_PATH = "/_bench/bare"  # bench/bare_route.py; outside /api/, so only the app-wide request hooks run there


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0].strip() \
        if has_wrk() else None
    return {"nproc": os.cpu_count(), "cpu": cpu, "platform": platform.platform(), "load_average": os.getloadavg(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "wrk": wrk,
            **{name: installed(name) for name in ("sqlalchemy", "flask", "gunicorn", "orjson", "psycopg",
                                                  "datasette")}}


def summary(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    q1, _, q3 = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else ordered * 3  # --cold-runs 1
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 3),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
            "iqr_ms": round(q3 - q1, 3), "min_ms": round(ordered[0], 3)}


def timed_cpu(action, count: int) -> tuple[list[float], float]:
    """`count` wall times in ms after a warm-up, and the CPU ms per action (this process's, user + system)."""
    for _ in range(min(20, count)):  # warm-up: connections, caches
        action()
    samples = []
    cpu = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, (time.process_time() - cpu) * 1000 / count


def timed_pair(first, second, count: int) -> tuple[list[float], list[float]]:
    """Wall times in ms of two actions in alternation, so that drift on a noisy machine weighs on both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(min(20, count) + count):
        for action, out in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            action()
            if i >= min(20, count):  # the first rounds warm connections and caches
                out.append((time.perf_counter() - started) * 1000)
    return samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """An HTTP server in a child process on a free port, stopped with `stop`."""

    def __init__(self, command: list[str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)

    def wait(self, path: str) -> float:
        """Seconds from process start to the first 200 on `path`."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited: {self.process.args}")
            try:
                if requests.get(self.url + path, headers=AUTH, timeout=5).status_code == 200:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                time.sleep(0.005)
        raise SystemExit("server did not start")

    def children_cpu_seconds(self) -> float:
        """CPU seconds (user + system) the process's children have used: gunicorn's workers. On a loaded machine
        CPU per request moves much less than latency, which also counts the waits for a core."""
        total = 0
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *_) -> None:
        self.stop()


class Server(Process):
    """`dataverse-emulator serve`; `workers` None is the development server. `bare`: with the bare route of
    bench/bare_route.py (gunicorn only)."""

    def __init__(self, database: str, *args: str, workers: int | None = 2, bare: bool = False) -> None:
        port = free_port()
        extra = ["--workers", str(workers)] if workers else []
        command = [sys.executable, str(Path(__file__).with_name("bare_route.py"))] if bare else CLI
        extra += ["--log-format", "none"]  # no request log: the figures measure serving, not stderr
        super().__init__([*command, "serve", "--port", str(port), "--database", database, *extra, *args], port)

    def wait(self, path: str = "/_emulator/health") -> float:
        return super().wait(path)


def has_wrk() -> bool:
    return subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode == 0


def wrk(url: str, *, connections: int, seconds: float, headers: dict | None = None) -> dict:
    """Requests per second and latency percentiles from wrk (one thread per two connections, at most two)."""
    threads = max(1, min(2, connections // 2))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "-s", str(WRK_REPORT), url]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    if report["errors"] or report["non2xx"]:
        raise SystemExit(f"wrk saw errors against {url}: {report}")
    return {"connections": connections, "seconds": seconds, "requests": report["requests"],
            "rps": round(report["requests"] / (report["duration_us"] / 1e6), 1),
            "p50_ms": round(report["p50_us"] / 1000, 3), "p99_ms": round(report["p99_us"] / 1000, 3),
            "mean_ms": round(report["mean_us"] / 1000, 3)}
