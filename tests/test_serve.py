"""`dataverse-emulator serve` as a user starts it: the port bound before anything else (a clash is one line and exit
code 3), the banner, EMULATOR_PORT and `make run PORT=`, the production server (waitress: no development-server
warning, no ANSI codes, nothing POSIX-only on the default path), `--log-format json`, and the server's own errors
in Dataverse's shape. Every test runs the real command in a child process."""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from .conftest import API, AUTH, free_port

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-01-15T12:00:00Z"
POSIX_ONLY = ("fcntl", "pwd", "grp", "termios", "resource", "tty", "pty", "gunicorn")


class Served:
    """`serve` in a child process; its stderr read line by line as it comes."""

    def __init__(self, cwd: Path, *args: str, env: dict | None = None, prelude: str | None = None) -> None:
        command = [sys.executable, "-m", "emulator.cli", "serve", "--now", NOW, *args]
        if prelude:  # run the CLI after some Python (e.g. making POSIX-only modules unimportable)
            command = [sys.executable, "-c", f"{prelude}\nfrom emulator.cli import main\nmain({list(command[3:])!r})"]
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(env or {})})
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, predicate, timeout: float = 60) -> str:
        """Reads lines up to the first one `predicate` accepts; fails if the process ends first."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no such line within {timeout} s; got: {self.lines}") from None
            if line is None:
                raise AssertionError(f"serve exited ({self.process.wait()}) first: {self.lines}")
            self.lines.append(line)
            if predicate(line):
                return line

    def wait_for_line(self, predicate, timeout: float = 10) -> str | None:
        try:
            return self.until(predicate, timeout)
        except AssertionError:
            return None

    def stop(self) -> list[str]:
        self.process.terminate()
        self.process.wait(timeout=30)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return self.lines


@pytest.fixture
def served(tmp_path):
    started: list[Served] = []

    def start(*args: str, **kwargs) -> Served:
        server = Served(tmp_path, "--database", f"sqlite:///{tmp_path / 'serve.db'}", *args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def banner_url(server: Served) -> str:
    server.until(lambda line: line.startswith("  Workspace:"))
    return re.search(r"Org URL:\s+(\S+)", "\n".join(server.lines)).group(1)


def test_banner_shows_the_org_url_the_api_root_and_the_workspace(served):
    port = free_port()
    server = served(env={"EMULATOR_PORT": str(port)})
    url = banner_url(server)
    start = server.lines.index("Dataverse emulator running")
    assert server.lines[start:start + 4] == [
        "Dataverse emulator running",
        f"  Org URL:    http://127.0.0.1:{port}",
        f"  Web API:    http://127.0.0.1:{port}/api/data/v9.2/",
        f"  Workspace:  http://127.0.0.1:{port}/",
    ]
    # the banner comes after the data is ready: the first request already answers
    assert requests.get(f"{url}{API}/msdyn_ocliveworkitems/$count", headers=AUTH, timeout=10).text == "500"
    assert requests.get(f"{url}/", timeout=10).status_code == 200  # the workspace (agent dashboard)
    server.wait_for_line(lambda line: "$count" in line)
    output = "\n".join(server.stop())
    assert "development server" not in output.lower() and "WARNING" not in output
    assert "\x1b[" not in output  # no ANSI colour codes when stderr is not a terminal
    assert re.search(r"GET /api/data/v9\.2/msdyn_ocliveworkitems/\$count 200 \d+\.\d ms", output), output


def test_a_port_in_use_is_one_line_and_exit_code_3_before_anything_is_seeded(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "EMULATOR_DATABASE_URL": ""})
    assert result.returncode == 3
    assert result.stderr == f"error: port {port} on 127.0.0.1 is in use (try --port or EMULATOR_PORT)\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no database made, nothing seeded, no baseline saved


def test_an_address_that_is_not_this_machines_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--host", "192.0.2.1", "--port", "0"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "EMULATOR_DATABASE_URL": ""})
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot bind port 0 on 192.0.2.1") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_log_format_json_is_one_object_per_line(served):
    server = served("--port", "0", "--log-format", "json")
    first = json.loads(server.until(lambda line: "org_url" in line))
    url = first["org_url"]
    assert first["message"] == "Dataverse emulator running" and first["web_api"] == f"{url}/api/data/v9.2/"
    requests.get(f"{url}{API}/msdyn_ocliveworkitems?$top=1&$select=subject", headers=AUTH, timeout=10)
    requests.get(f"{url}{API}/nosuchset", headers=AUTH, timeout=10)
    server.wait_for_line(lambda line: "nosuchset" in line)
    lines = server.stop()
    objects = [json.loads(line) for line in lines]  # every line is a JSON object
    served_requests = [o for o in objects if "method" in o]
    assert [(o["method"], o["path"], o["status"], o["level"]) for o in served_requests] == [
        ("GET", "/api/data/v9.2/msdyn_ocliveworkitems?$top=1&$select=subject", 200, "info"),
        ("GET", "/api/data/v9.2/nosuchset", 404, "warning")]
    for entry in served_requests:
        assert set(entry) == {"time", "level", "method", "path", "status", "duration_ms"}
        assert entry["time"].endswith("Z") and isinstance(entry["duration_ms"], float)


def test_the_default_server_imports_nothing_posix_only(served):
    """What Windows lacks (fcntl, pwd, gunicorn...) made unimportable: `serve` still starts and answers."""
    blocked = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in POSIX_ONLY)
    server = served("--port", "0", prelude=blocked)
    url = banner_url(server)
    assert requests.get(f"{url}{API}/WhoAmI", headers=AUTH, timeout=10).status_code == 200


def test_workers_say_where_they_are_supported():
    from click.testing import CliRunner

    from emulator.cli import main

    text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "POSIX only" in " ".join(text.split())


def test_drop_fault_closes_the_connection_without_an_answer(served):
    url = banner_url(served("--port", "0"))
    added = requests.post(f"{url}/_emulator/faults", json={"kind": "drop", "times": 1}, timeout=10)
    assert added.status_code == 201
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}{API}/WhoAmI", headers=AUTH, timeout=10)
    assert requests.get(f"{url}{API}/WhoAmI", headers=AUTH, timeout=10).status_code == 200


def raw_exchange(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_the_servers_own_errors_are_dataverse_shaped(served):
    url = banner_url(served("--port", "0"))
    head, _, body = raw_exchange(url, b"NOT A REQUEST LINE\r\n\r\n").partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b"400 Bad Request") and b"application/json" in head
    assert set(json.loads(body)["error"]) == {"code", "message"}
    # a URL past 32 KB reaches the app (Dataverse's 414), even one far beyond werkzeug's old 64 KB line buffer
    target = f"{API}/msdyn_ocliveworkitems?pad={'x' * 100_000}".encode()
    head, _, body = raw_exchange(url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                                 b"Connection: close\r\n\r\n").partition(b"\r\n\r\n")
    assert b" 414 " in head.split(b"\r\n")[0]
    assert "32 KB" in json.loads(body)["error"]["message"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["run", "demo"])
def test_make_run_and_demo_take_a_port(target):
    venv = Path(sys.executable).parents[1]
    planned = subprocess.run(["make", "-n", target, "PORT=5601", f"VENV={venv}"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    assert "dataverse-emulator serve" in planned.stdout and "--port 5601" in planned.stdout
    default = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
    assert "--port" not in default.stdout  # then EMULATOR_PORT, or 5555


def test_the_url_limit_counts_the_url_as_sent(served):
    """32 KB exactly is served and one more character is Dataverse's 414, measured on the raw request target."""
    url = banner_url(served("--port", "0"))
    base = f"{API}/msdyn_ocliveworkitems?$select=subject&$top=1&pad=%20"  # %20: 3 characters sent, 1 decoded

    def target(length: int) -> bytes:
        return (base + "x" * (length - len(base))).encode()

    for length, status in ((32768, b" 200 "), (32769, b" 414 ")):
        answer = raw_exchange(url, b"GET " + target(length) + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                              b"Connection: close\r\n\r\n")
        assert status in answer.split(b"\r\n")[0], answer[:300]
