# The developer interface. Every target creates .venv and installs the project first if needed.
# Another interpreter gets its own venv: `make test PYTHON=python3.13 VENV=.venv-3.13` (.ci/run does so for each).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint fmt golden templates bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## live E2E run of scenarios/ against the embedded reference server
	$(BIN)/velikey-e2e demo

test: $(STAMP)  ## the whole suite except the slow reliability suites (under ten minutes)
	$(BIN)/python -m pytest -m "not slow"

test-all: $(STAMP)  ## everything, slow suites included (what CI runs)
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff on everything, mypy --strict on the two packages
	$(BIN)/ruff check velikey runner tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix velikey runner tests bench
	$(BIN)/ruff format velikey runner tests bench

golden: $(STAMP)  ## regenerate tests/golden/ on purpose, then review the diff
	$(BIN)/python -m tests.golden.regenerate

templates: $(STAMP)  ## precompile the SUMMARY.md template after editing it or upgrading jinja2
	$(BIN)/python scripts/compile_templates.py

bench: $(STAMP)  ## every issue-11 row against its same-run baseline, one table (CI: python -m bench --quick)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .ruff_cache .mypy_cache receipts/demo
