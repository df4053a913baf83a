"""The command line: help, seeding, clear errors for bad arguments, and `serve` as a real process."""
import json
import os
import subprocess
import sys
import time

import requests
from click.testing import CliRunner

from emulator.cli import main
from emulator.store.database import Database

from .conftest import free_port


def test_help_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "seed" in result.output


def test_seed_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["seed", "--database", url, "--conversations", "40", "--agents", "4",
                                  "--now", "2026-01-15T12:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "Seeded 40 conversations" in result.output
    assert Database(url).count("msdyn_ocliveworkitem") == 40
    again = runner.invoke(main, ["seed", "--database", url])
    assert again.exit_code != 0 and "--reset" in again.output
    reset = runner.invoke(main, ["seed", "--database", url, "--reset", "--conversations", "5"])
    assert reset.exit_code == 0 and Database(url).count("msdyn_ocliveworkitem") == 5


def test_bad_arguments_are_clear(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["seed", "--conversations", "-3"])
    assert result.exit_code == 2 and "--conversations" in result.output
    result = runner.invoke(main, ["seed", "--now", "tomorrow"])
    assert result.exit_code == 2 and "ISO 8601" in result.output
    result = runner.invoke(main, ["serve", "--auth", "maybe"])
    assert result.exit_code == 2 and "--auth" in result.output



def test_serve_seeds_an_empty_database_and_answers(tmp_path):
    port = free_port()
    env = {**os.environ, "EMULATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/data/v9.2/msdyn_ocliveworkitems/$count"
        deadline = time.monotonic() + 120  # seeding takes seconds, more on a loaded machine
        while True:
            try:
                response = requests.get(url, headers={"Authorization": "Bearer t"}, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "the server did not come up"
                time.sleep(0.1)
        assert response.status_code == 200 and response.text == "500"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_unreachable_database_is_a_clear_error():
    result = CliRunner().invoke(main, ["seed", "--database", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "cannot use the database" in result.output and "127.0.0.1:1" in result.output
    assert "secret" not in result.output


DOC_AGENT = "2b330c52-6844-4d36-8e05-03c78c9681dc"


def conversations(*args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["get-conversations", "--agent", DOC_AGENT, "--attribute", "msdyn_title",
                                       "--attribute", "statuscode", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_get_conversations_takes_the_org_url_or_the_api_root(live):
    """The banner prints both; either pasted into --url works, with or without trailing slashes."""
    expected = conversations("--url", live.url, "--status", "3")
    assert expected and all(c["statuscode"] == 3 for c in expected)
    for url in (f"{live.url}/", f"{live.url}/api/data/v9.2/", f"{live.url}/api/data/v9.2", f"{live.url}//"):
        assert conversations("--url", url, "--status", "3") == expected


def test_get_conversations_takes_status_labels(live):
    numbers = conversations("--url", live.url, "--status", "2,3")
    assert {c["statuscode"] for c in numbers} == {2, 3}
    assert conversations("--url", live.url, "--status", "Active,Waiting") == numbers
    assert conversations("--url", live.url, "--status", "active", "--status", "WAITING") == numbers
    assert conversations("--url", live.url, "--status", "Waiting") == conversations("--url", live.url, "--status", "3")
    refused = CliRunner().invoke(main, ["get-conversations", "--url", live.url, "--agent", DOC_AGENT,
                                        "--status", "Pending"])
    assert refused.exit_code == 1 and "'Pending'" in refused.output and "3 Waiting" in refused.output
