"""The pytest plugin as a user's project sees it: the example suite under examples/ runs in a subprocess, alone
and under pytest-xdist with two workers (one emulator and database each)."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_example_suite_passes(extra):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", *extra], cwd=EXAMPLES, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "failed" not in result.stdout and "error" not in result.stdout.lower()


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
