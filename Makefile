# Everything a fresh machine needs: `make run` serves the seeded emulator, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/dataverse-emulator serve

demo: install
	$(BIN)/dataverse-emulator serve --simulate

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .emulator .pytest_cache
