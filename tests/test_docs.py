"""Every example in README.md and docs/*.md runs, and shows what it prints, against a fresh emulator.

The convention (also in docs/contributing.md):
- A fenced block tagged `sh`, `bash` or `shell` runs in bash (`set -euo pipefail`); `python` runs with the project's
  interpreter; `js`/`javascript` runs in Node, as an ES module when it has an `import`/`export` statement, as
  CommonJS otherwise; `html` is loaded into Chromium on the emulator's own origin (the page writes its result
  into an element with id `output`). Blocks run in a file's order, so a later block may use what an earlier one
  did: Python and JavaScript from the repository's root, shell blocks in a scratch directory of the page's own
  (files they write land there). Any other tag (`text`, `json`, `http`, `output`, ...) is shown, not run.
- The block right after a run block, if tagged `output`, is what the run block must print (stdout; for `html`,
  the text of `#output`). Compared line by line after stripping trailing spaces, with one normalisation: a line
  `...` alone matches any number of lines. A run block without an `output` block must simply succeed.
- The emulator is started once, exactly as `make run` starts it on a fresh clone (`dataverse-emulator serve`:
  default data set, seed 42, real clock, bearer auth) but on a free port and its own SQLite file; before each file
  it is reset (the fresh data set restored from a snapshot taken at start, then `POST /_emulator/reset`). In blocks and outputs, `http://127.0.0.1:5555`,
  `127.0.0.1:5555` and `localhost:5555` mean that server, and `.venv/bin/` the interpreter's bin directory.
  Commands run with EMULATOR_DATABASE_URL pointing at a scratch SQLite file, so `dataverse-emulator seed` and
  friends never touch the repository's `.emulator/`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_TAGS = {"sh": "bash", "bash": "bash", "shell": "bash", "python": "python", "js": "node", "javascript": "node",
            "html": "browser"}
FENCE = re.compile(r"^(`{3,})([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
TIMEOUT = 120


@dataclass
class Block:
    path: Path
    line: int
    tag: str
    code: str
    output: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The runnable blocks of a Markdown file, each with the `output` block that follows it (if any)."""
    text = path.read_text()
    found = [(text.count("\n", 0, m.start()) + 1, m.group(2).lower(), m.group(3)) for m in FENCE.finditer(text)]
    out: list[Block] = []
    for i, (line, tag, code) in enumerate(found):
        if tag not in RUN_TAGS:
            continue
        after = found[i + 1] if i + 1 < len(found) else None
        out.append(Block(path, line, tag, code, after[2] if after and after[1] == "output" else None))
    return out


def matches(expected: str, got: str) -> bool:
    """Line by line, trailing spaces ignored; a line `...` matches any run of lines (also none)."""
    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    have = [line.rstrip() for line in got.strip("\n").splitlines()]

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(have)
        if want[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(have) + 1))
        return j < len(have) and want[i] == have[j] and match(i + 1, j + 1)

    return match(0, 0)


class Missing(Exception):
    """A tool an example needs is not on this machine (node, Chromium): the page's test is skipped, after its
    other blocks ran (and fails under CI=true, tests/conftest.py)."""


class Docs:
    """The fresh emulator the examples run against, and the substitutions that point them at it."""

    def __init__(self, url: str, scratch: Path) -> None:
        self.url, self.scratch = url, scratch
        self.host = url.removeprefix("http://")
        self.bin = Path(sys.executable).parent
        self.env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONPATH": str(ROOT),  # this checkout's code, also behind the console scripts
                    "EMULATOR_DATABASE_URL": f"sqlite:///{scratch / 'scratch.db'}", "NO_COLOR": "1",
                    "PYTHONUNBUFFERED": "1"}
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            self.env.pop(proxy, None)
        self.browser = None
        self.workdir = scratch

    def local(self, text: str) -> str:
        text = text.replace("http://127.0.0.1:5555", self.url)
        text = text.replace("127.0.0.1:5555", self.host).replace("localhost:5555", self.host)
        return text.replace(".venv/bin/", f"{self.bin}/")

    def run(self, block: Block) -> str:
        code = self.local(block.code)
        kind = RUN_TAGS[block.tag]
        if kind == "browser":
            return self.in_browser(code)
        if kind == "bash":
            command = ["bash", "-euo", "pipefail", "-c", code]
        elif kind == "python":
            command = [sys.executable, "-c", code]
        else:
            node = shutil.which("node")
            if node is None:
                raise Missing("node (20 or later) runs the JavaScript examples and is not installed")
            module = re.search(r"^\s*(import|export)\s", code, re.M)
            command = [node, f"--input-type={'module' if module else 'commonjs'}", "-e", code]
        cwd = self.workdir if kind == "bash" else ROOT
        result = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0, (f"{block.where}: exit code {result.returncode}\n--- stdout\n{result.stdout}"
                                        f"\n--- stderr\n{result.stderr}")
        return result.stdout

    def in_browser(self, html: str) -> str:
        """The page, written over the emulator's own page (same origin), run until it fills #output."""
        from selenium.webdriver.support.ui import WebDriverWait

        if self.browser is None:
            self.browser = start_browser()
        self.browser.get(f"{self.url}/_emulator/health")
        self.browser.execute_script("document.open(); document.write(arguments[0]); document.close();", html)
        WebDriverWait(self.browser, 20, poll_frequency=0.1).until(
            lambda d: d.execute_script("const o = document.getElementById('output'); return o && o.textContent;"),
            "the page never wrote into #output")
        return self.browser.execute_script("return document.getElementById('output').textContent;")

    def save_fresh(self) -> None:
        response = requests.post(f"{self.url}/_emulator/snapshots", json={"name": "docs-fresh"}, timeout=60)
        assert response.status_code in (200, 201), response.text

    def reset(self) -> None:
        """Back to the fresh data set (also when a page seeded another scenario), then a full reset: clock,
        faults, journal, limits."""
        restore = requests.post(f"{self.url}/_emulator/snapshots/docs-fresh/restore", json={"baseline": True},
                                timeout=60)
        assert restore.status_code == 200, restore.text
        response = requests.post(f"{self.url}/_emulator/reset", json={"full": True}, timeout=60)
        assert response.status_code == 200, response.text


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from .test_dashboard_e2e import CHROMEDRIVER, CHROMIUM, _install_browser

    reason = _install_browser()
    if reason:
        raise Missing(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-docs-')}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """`dataverse-emulator serve` as `make run` starts it, on a free port and a fresh SQLite file."""
    scratch = tmp_path_factory.mktemp("docs")
    port = free_port()
    log = open(scratch / "server.log", "wb")  # noqa: SIM115 - closed below
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whatever the environment has installed
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), "--database",
                                f"sqlite:///{scratch / 'emulator.db'}"], cwd=scratch, stdout=log,
                               stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        assert process.poll() is None, (scratch / "server.log").read_text()
        try:
            if requests.get(f"{url}/_emulator/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError("the emulator did not come up")
    here = Docs(url, scratch)
    here.save_fresh()
    yield here
    if here.browser is not None:
        here.browser.quit()
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_example_runs_and_prints_what_the_page_shows(docs, path):
    runnable = blocks(path)
    if not runnable:
        return
    docs.reset()
    docs.workdir = Path(tempfile.mkdtemp(prefix="page-", dir=docs.scratch))
    failures, missing = [], []
    for block in runnable:
        try:
            got = docs.run(block)
        except Missing as reason:
            missing.append(f"{block.where}: {reason}")
            continue
        except (AssertionError, subprocess.TimeoutExpired) as error:
            failures.append(str(error))
            continue
        if block.output is not None and not matches(docs.local(block.output), got):
            failures.append(f"{block.where}: the example prints something else than the page shows\n"
                            f"--- the page\n{docs.local(block.output).rstrip()}\n--- printed\n{got.rstrip()}")
    assert not failures, "\n\n".join(failures)
    if missing:
        pytest.skip("; ".join(missing))


def test_the_readme_and_the_docs_have_runnable_examples():
    assert len(blocks(ROOT / "README.md")) >= 5
    assert sum(len(blocks(p)) for p in DOCS) >= 20
    with_output = [b for p in DOCS for b in blocks(p) if b.output is not None]
    assert len(with_output) >= 8


LINK = re.compile(r"\]\(([^)\s]+)\)")
PENDING = {"docs/install.md"}  # written on another branch (issue 22); present once merged


def test_relative_links_resolve():
    broken = []
    for path in DOCS:
        text = FENCE.sub("", path.read_text())
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file = (path.parent / target.split("#")[0]).resolve()
            if not file.exists() and str(file.relative_to(ROOT)) not in PENDING:
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_a_stale_output_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Run:\n\n```sh\necho 'Delivery delay #10000'\n```\n\nIt prints:\n\n```output\n"
                    "Account locked #10318\n```\n\n```text\nnot run\n```\n")
    [block] = blocks(page)
    assert block.tag == "sh" and block.output == "Account locked #10318\n"
    assert not matches(block.output, "Delivery delay #10000\n")
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n") and matches("a\n...\n", "a\n") and not matches("a\n...\nd", "a\nb")
