# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app deepref
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test provision migrate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "deepref needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

migrate: $(VENV)/.installed
	$(FLASK) db migrate

# Migrates, then serves: the address and the first admin's one-time password are the
# last lines printed.
run: migrate
	@$(FLASK) serve --host $(HOST) --port $(PORT)

test: provision $(VENV)/.installed-test
	$(BIN)/pytest

# What the tests need besides Python (PostgreSQL, chromium): started or installed, or
# one line saying what to run. Silent when they are there.
provision:
	@scripts/provision-test

clean:
	rm -rf $(VENV) instance .pytest_cache test-output
