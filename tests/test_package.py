"""Packaging usable elsewhere: the wheel is built, installed into a fresh virtual environment outside the checkout,
and the examples/ suite (a user's project) runs there through the installed pytest plugin; `serve` of the installed
command finds its scenarios, static files and the JavaScript shim in the wheel.

In CI the fresh environment borrows the already installed dependencies (a .pth line to this interpreter's
site-packages) so the check takes well under a minute; PACKAGE_CHECK_INDEX=1 (`make package-check`) installs them
from the package index instead, as a user's `pip install` does (docs/install.md)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
FROM_INDEX = os.environ.get("PACKAGE_CHECK_INDEX") == "1"

# About a minute (a wheel build, a venv, the examples suite): on every CI run (CI=true) and with `make package-check`,
# not in a developer's everyday `make test`.
pytestmark = pytest.mark.skipif(os.environ.get("CI") != "true" and os.environ.get("PACKAGE_CHECK") != "1",
                                reason="the packaging check runs in CI (CI=true) or with `make package-check`")


# nothing of the checkout or of the caller's settings leaks into the fresh environment
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("EMULATOR_")}


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=CLEAN_ENV, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it (and nothing of the checkout)."""
    work = tmp_path_factory.mktemp("package")
    source = work / "source"  # a clean copy: the build never writes into the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", ".emulator", "node_modules",
                                                               "__pycache__", "*.egg-info", "build", "dist",
                                                               ".pytest_cache", ".mypy_cache", ".ruff_cache"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(work / "dist"),
         str(source)])
    wheel = next((work / "dist").glob("dataverse_emulator-*.whl"))
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv_python(venv)
    if FROM_INDEX:
        run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel),
             "pytest>=8,<10"])
    else:
        run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)])
        purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
        # the dependencies already installed here, after the venv's own site-packages (so its emulator wins)
        Path(purelib, "zz_borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    where = run([str(installed), "-c", "import emulator; print(emulator.__file__)"], cwd=installed.parents[2])
    assert str(installed.parents[1]) in where.stdout and str(ROOT) not in where.stdout
    # every dependency the wheel declares is satisfied in that environment
    check = run([str(installed), "-c", (
        "import importlib.metadata as m, re\n"
        "missing = []\n"
        "for req in m.requires('dataverse-emulator'):\n"
        "    if 'extra ==' in req or 'win32' in req and __import__('sys').platform != 'win32': continue\n"
        "    name = re.match(r'[A-Za-z0-9_.-]+', req).group(0)\n"
        "    try: m.version(name)\n"
        "    except m.PackageNotFoundError: missing.append(name)\n"
        "print(missing)")])
    assert check.stdout.strip() == "[]"


def test_the_examples_suite_runs_through_the_installed_plugin(installed, tmp_path):
    project = tmp_path / "project"  # a user's project: the examples, without the checkout around them
    shutil.copytree(ROOT / "examples", project)
    result = subprocess.run([str(installed), "-m", "pytest", "-q", "-p", "no:randomly"], cwd=project,
                            capture_output=True, text=True, timeout=600, env=CLEAN_ENV)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout) and "failed" not in result.stdout


def test_the_installed_command_serves_scenarios_static_files_and_the_shim(installed, tmp_path):
    command = installed.parent / ("dataverse-emulator.exe" if os.name == "nt" else "dataverse-emulator")
    process = subprocess.Popen([str(command), "serve", "--port", "0", "--scenario", "minimal", "--no-baseline",
                                "--now", "2026-01-15T12:00:00Z"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=CLEAN_ENV)
    try:
        lines = []
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if line.startswith("  Org URL:"):
                break
        url = lines[-1].split()[-1]
        assert "Loaded scenario minimal: 5 conversations." in "".join(lines), lines
        headers = {"Authorization": "Bearer t"}
        assert requests.get(f"{url}/api/data/v9.2/msdyn_ocliveworkitems/$count", headers=headers,
                            timeout=10).text == "5"
        page = requests.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        shim = requests.get(f"{url}/omnichannel.js", timeout=10)
        assert shim.status_code == 200 and "getConversations" in shim.text
    finally:
        process.terminate()
        process.wait(timeout=30)
