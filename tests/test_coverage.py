"""docs/coverage.md is true: every row's probe, sent in order to a fresh emulator (the default data set), gets the
answer the row names (the status, and for an error the code); an emulated row never answers 501 or an unknown
segment (its probe may show the feature's own error, such as a 412 for a stale If-Match); a row that is not emulated
answers an error, never a success or an unnamed 5xx. A feature added or dropped fails here until its row says so.

Probe cell: `METHOD path [JSON body]` (path relative to /api/data/v9.2/ unless it starts with /), then any
`Header: value` cells. A body `batch:<request line>` sends a one-part multipart $batch with that GET."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from emulator.app import create_app

from .conftest import API, BACKENDS, Client, drop_database, make_emulator

PAGE = Path(__file__).resolve().parents[1] / "docs" / "coverage.md"
ROW = re.compile(r"^\|(?P<feature>[^|]+)\|(?P<emulated>[^|]+)\|(?P<probe>[^|]+)\|(?P<answer>[^|]+)\|\s*$")
ANSWER = re.compile(r"^(\d{3})(?: (0x[0-9a-fA-F]+))?$")


def rows() -> list[dict]:
    out = []
    for number, line in enumerate(PAGE.read_text().splitlines(), 1):
        match = ROW.match(line)
        if not match or match["feature"].strip() in ("feature", "---"):
            continue
        parts = re.findall(r"`([^`]*)`", match["probe"])
        answer = ANSWER.match(match["answer"].strip())
        assert parts and answer, f"docs/coverage.md:{number}: a row needs a probe and an answer: {line}"
        emulated = match["emulated"].strip()
        assert emulated.startswith(("yes", "no")), f"docs/coverage.md:{number}: emulated yes or no"
        out.append({"line": number, "feature": match["feature"].strip(), "emulated": emulated.startswith("yes"),
                    "request": parts[0], "headers": dict(h.split(": ", 1) for h in parts[1:]),
                    "status": int(answer[1]), "code": answer[2]})
    return out


def batch_body(request_line: str) -> tuple[str, str]:
    method, _, path = request_line.partition(" ")
    boundary = "batch_coverage"
    body = (f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"{method} {API}/{path} HTTP/1.1\r\nAccept: application/json\r\n\r\n--{boundary}--\r\n")
    return body, f"multipart/mixed; boundary={boundary}"


def send(client: Client, row: dict):
    method, _, rest = row["request"].partition(" ")
    headers = dict(row["headers"])
    data = None
    if " batch:" in f" {rest}":
        rest, _, line = rest.partition("batch:")
        data, headers["Content-Type"] = batch_body(line)
    elif " {" in rest:
        rest, _, body = rest.partition(" {")
        data, headers["Content-Type"] = "{" + body, "application/json"
    path, _, query = rest.strip().partition("?")
    url = path if path.startswith("/") else f"{API}/{path}"
    url = quote(url, safe="/$(),='@:;")
    if query:
        url += "?" + quote(query, safe="=&$@(),'/:*;%\"!")
    return client.request(method, url, headers=headers, data=data)


ROWS = rows()


@pytest.fixture(scope="module", params=BACKENDS)
def fresh_default(request, tmp_path_factory):
    emulator = make_emulator(tmp_path_factory.mktemp("coverage") / "emulator.db", backend=request.param)
    yield Client(create_app(emulator))
    drop_database(emulator)


def test_every_row_of_the_coverage_page_is_what_the_emulator_answers(fresh_default):
    wrong = []
    for row in ROWS:  # in the page's order: later rows may use what earlier ones wrote
        response = send(fresh_default, row)
        body = response.get_json(silent=True)
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        problems = []
        if response.status_code != row["status"]:
            problems.append(f"status {response.status_code}, the page says {row['status']}")
        if row["code"] is not None and (code or "0x0") != row["code"]:
            problems.append(f"code {code!r}, the page says {row['code']}")
        if row["emulated"] and (response.status_code == 501 or code == "0x8006088a"):
            problems.append("an emulated feature answered 501 or an unknown segment")
        if not row["emulated"] and (response.status_code < 400 or response.status_code >= 500 and code is None):
            problems.append("a feature that is not emulated must answer a named error")
        if problems:
            detail = response.get_data(as_text=True)[:300]
            wrong.append(f"docs/coverage.md:{row['line']} {row['feature']}: {'; '.join(problems)}\n    {detail}")
    assert not wrong, "\n".join(wrong)


def test_the_page_covers_reads_writes_and_metadata():
    assert len(ROWS) >= 50
    assert sum(r["emulated"] for r in ROWS) >= 30 and sum(not r["emulated"] for r in ROWS) >= 15
    assert all(r["status"] < 500 or r["code"] == "0x8004d101" for r in ROWS)  # 501 only as the named error
