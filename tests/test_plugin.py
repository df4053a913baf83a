"""The pytest plugin as a user's project sees it: the example suite under examples/ runs in a subprocess, alone
and under pytest-xdist with two workers (one emulator and database each)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def outcome_counts(stdout: str) -> dict[str, int]:
    """The counts of pytest's final summary line ("12 passed, 1 warning in 3.20s"), read from that line only, so a
    test name or a --durations line that contains "error" or "failed" is not mistaken for an outcome."""
    summary = [line for line in stdout.splitlines() if re.search(r"\bin [\d.]+s\b", line)
               and re.search(r"\d+ (passed|failed|errors?|skipped)", line)]
    assert summary, stdout
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary[-1])}


def test_outcome_counts_read_only_the_summary_line():
    stdout = ("0.50s call     test_retry.py::test_error_is_retried\n"
              "test_errors.py::test_failed_login PASSED\n"
              "============ 7 passed, 1 warning in 3.21s ============\n")
    assert outcome_counts(stdout) == {"passed": 7, "warning": 1}
    assert outcome_counts("1 failed, 2 passed, 1 error in 0.50s") == {"failed": 1, "passed": 2, "error": 1}


@pytest.mark.parametrize("extra", [["--durations=0"], ["-n", "2"]], ids=["serial", "xdist"])
def test_example_suite_passes(extra):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", *extra], cwd=EXAMPLES, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = outcome_counts(result.stdout)
    assert counts.get("passed", 0) > 0 and set(counts) <= {"passed", "warning", "warnings"}, result.stdout


def test_plugin_is_registered_through_the_entry_point():
    from importlib.metadata import entry_points

    [entry] = [e for e in entry_points(group="pytest11") if e.name == "dataverse_emulator"]
    assert entry.value == "emulator.testing.plugin"


USER_TESTS = '''
import requests

def test_count(dataverse_emulator):
    response = requests.get(dataverse_emulator.api_url + "/msdyn_ocliveworkitems/$count",
                            headers=dataverse_emulator.headers, timeout=10)
    assert response.text == "{expected}"

def test_seed_in_a_test_is_undone_for_the_next(dataverse_emulator):
    dataverse_emulator.seed(conversations=3, agents=1)
    assert dataverse_emulator.health()["counts"]["msdyn_ocliveworkitem"] == 3

def test_count_again(dataverse_emulator):
    assert dataverse_emulator.health()["counts"]["msdyn_ocliveworkitem"] == {expected}

def test_service_protection_helper(dataverse_emulator):
    dataverse_emulator.service_protection(requests=1, window_seconds=60)
    url = dataverse_emulator.api_url + "/systemusers"
    assert requests.get(url, headers=dataverse_emulator.headers, timeout=10).status_code == 200
    assert requests.get(url, headers=dataverse_emulator.headers, timeout=10).status_code == 429
'''


@pytest.mark.parametrize("args, ini, expected", [
    (["--dataverse-scenario", "minimal"], "", 5),
    ([], "[pytest]\ndataverse_scenario = minimal\n", 5),
    ([], "", 500),
])
def test_scenario_from_option_ini_or_default(tmp_path, args, ini, expected):
    (tmp_path / "test_user.py").write_text(USER_TESTS.format(expected=expected))
    (tmp_path / "pytest.ini").write_text(ini or "[pytest]\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                             *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
