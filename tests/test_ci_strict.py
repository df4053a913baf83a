"""With CI=true a missing prerequisite fails the run instead of skipping tests (tests/conftest.py): no PostgreSQL
is a usage error before any test runs, and a test that skips for want of a tool (here node, hidden from PATH)
is reported as failed, naming the reason."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_pytest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_ci_without_postgresql_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "EMULATOR_TEST_DATABASE_URL"}
    result = run_pytest({**env, "CI": "true"}, "tests/test_plugin.py", "-k", "entry_point")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "CI=true but no PostgreSQL" in result.stderr


def test_ci_turns_a_missing_tool_skip_into_a_failure():
    env = {**os.environ, "CI": "true", "PATH": str(Path(sys.executable).parent),
           "EMULATOR_TEST_DATABASE_URL": os.environ.get("EMULATOR_TEST_DATABASE_URL", "postgresql+psycopg://x@127.0.0.1:1/x")}
    result = run_pytest(env, "tests/test_omnichannel.py", "-k", "javascript and not postgresql", "-rf")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CI=true, so this skip fails the run: node is not installed" in result.stdout
    assert " skipped" not in result.stdout.splitlines()[-1]
    without_ci = run_pytest({**env, "CI": ""}, "tests/test_omnichannel.py", "-k", "javascript and not postgresql")
    assert without_ci.returncode == 0 and " skipped" in without_ci.stdout.splitlines()[-1], without_ci.stdout
