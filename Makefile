# meterproof — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install when pyproject.toml changes.
STAMP      := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

# Every app package held at 100 % docstring coverage ([tool.interrogate] in
# pyproject.toml; migrations excluded there).
DOCSTRING_GATE := kernel audittrail billing transparency revocation circuits config

.PHONY: demo test serve install install-test migrate keys bench lint clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)
install-test: $(TEST_STAMP)

keys: install
	$(BIN)/python manage.py billing_keys --if-missing

migrate: install
	$(BIN)/python manage.py migrate --noinput -v 0

## The main job on the embedded default (SQLite): import, attest, verify offline,
## then close a period and verify its statement offline.
demo: keys migrate
	$(BIN)/python manage.py demo

## Install with test extras and run the whole suite (DATABASE_URL selects the DB).
test: install-test
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/interrogate $(DOCSTRING_GATE)
	$(BIN)/python -m pytest

## Development server on http://127.0.0.1:8000 (admin at /admin/).
serve: keys migrate
	$(BIN)/python manage.py runserver 127.0.0.1:8000

bench: install-test keys migrate
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run.py --out BENCHMARKS.md

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf var/ .pytest_cache
