# Everything a fresh machine needs: `make run` serves the seeded emulator, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint install clean fuzz bench package-check docker-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# `make run PORT=5600` (or EMULATOR_PORT=5600 in the environment) serves on another port.
PORT ?=
SERVE_ARGS := $(if $(PORT),--port $(PORT))

run: install
	$(BIN)/dataverse-emulator serve $(SERVE_ARGS)

demo: install
	$(BIN)/dataverse-emulator serve --simulate $(SERVE_ARGS)

# Storage tests also run on PostgreSQL when one answers on 127.0.0.1:5432 (or EMULATOR_TEST_DATABASE_URL is set).
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

# The gate: lint and import order (ruff), types (mypy), the layers' import contracts (import-linter, pyproject.toml).
lint: install
	$(BIN)/ruff check emulator tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: install lint
	@if [ -z "$$EMULATOR_TEST_DATABASE_URL" ] && command -v pg_isready >/dev/null 2>&1 \
	    && pg_isready -q -h 127.0.0.1 -p 5432; then \
	  export EMULATOR_TEST_DATABASE_URL=$(PG_TEST_URL); echo "PostgreSQL found: storage tests run on SQLite and PostgreSQL"; \
	fi; $(BIN)/python -m pytest

# The wheel built, installed into a fresh venv with its dependencies from the package index (as `pip install` does
# for a user), the examples/ suite run through the installed pytest plugin. CI runs the same test on every run, with
# the dependencies already installed (tests/test_package.py).
package-check: install
	PACKAGE_CHECK=1 PACKAGE_CHECK_INDEX=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_package.py

# hadolint on the Dockerfile, then the image built and a smoke request, when a Docker daemon answers (tests/test_docker.py).
docker-check: install
	$(BIN)/python -m pytest -q -rs -p no:cacheprovider tests/test_docker.py

# The long fuzz run (3 x FUZZ_EXAMPLES hypothesis cases, randomised) and the long differential-oracle runs (OData, FetchXML);
# both write their figures to bench/results/fuzz.md.
FUZZ_EXAMPLES  ?= 10000
ORACLE_QUERIES ?= 10000

fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ORACLE_QUERIES=$(ORACLE_QUERIES) FUZZ_REPORT=bench/results/fuzz.md \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py tests/test_oracle.py tests/test_fetchxml_oracle.py

# Benchmarks, not tests: bench/results/*.json, the plot and BENCHMARKS.md (BENCH_MAX=1000000 adds a million
# conversations). wrk (Debian's package) drives the throughput runs; PostgreSQL is benchmarked when it answers.
bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk >/dev/null; } \
	  || echo "wrk not installed: throughput figures are skipped (apt-get install wrk)"
	@if [ -z "$$BENCH_POSTGRES_URL" ] && command -v pg_isready >/dev/null 2>&1 \
	    && pg_isready -q -h 127.0.0.1 -p 5432; then export BENCH_POSTGRES_URL=$(PG_TEST_URL); fi; \
	  $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .emulator .pytest_cache
