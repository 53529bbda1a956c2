# Two commands for a newcomer: `make run` and `make test`. Both create the virtual environment from the
# committed lock files when it is missing or out of date: `make run` installs requirements.lock (what the
# pipeline needs), `make test` adds requirements-test.lock (the same pins plus the test tools).
# Both locks are compiled from pyproject.toml, with hashes, by `make lock`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test
# The lock tool, pinned, in a virtual environment of its own so it never mixes with the pipeline's packages.
LOCK_TOOL := pip-tools==7.6.2
LOCK_VENV := .venv-lock
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --no-strip-extras \
	--no-emit-index-url --no-emit-find-links
PIP_INSTALL = $(BIN)/python -m pip install --disable-pip-version-check --no-input --quiet --require-hashes
# pytest-xdist: one worker per core, tests handed out as workers free up; the expensive fixtures are
# session- or module-scoped, so each worker builds one at most once.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist load
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)

# A value from .env (KEY=value, quotes and a trailing # comment allowed), for the defaults below: the environment wins, then
# .env, then make's default, the same order orchestration/run.py reads them in.
dotenv = $(strip $(shell [ -f .env ] && sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?$(1)[[:space:]]*=[[:space:]]*//p' .env | tail -n 1 | sed -E 's/[[:space:]]+\#.*$$//; s/^"(.*)"$$/\1/; s/^'\''(.*)'\''$$/\1/'))

# One place for paths shared by Dagster, dbt and the run summary (see ingestion/config.py).
export DAGSTER_HOME ?= $(abspath $(or $(call dotenv,DAGSTER_HOME),.dagster_home))
export DBT_PROJECT_DIR := $(CURDIR)/dbt_project
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export PYTHONPATH := $(CURDIR)

.PHONY: help setup setup-test chromium run report test test-fast dev bench lock rollback clean draft-contract messages

help:
	@echo "make run    set up, then run the main job on the bundled data and publish"
	@echo "make test   set up, then run the whole test suite"
	@echo "make test-fast  the suite without pipeline runs, dbt runs, GX validations and the whole-snapshot read (under a minute)"
	@echo "make dev    the Dagster UI on http://localhost:3000"
	@echo "make bench  run every benchmark (reports/bench/*.json)"
	@echo "make report rebuild the report site (reports/site/) from the current published file"
	@echo "make rollback  restore the previous published file"
	@echo "make draft-contract PARTNER=<id> FILE=<path> [CONSTANTS=\"geo_area_m49=4 ...\"]  draft contracts/partners/<id>.yml from a sample file, for review"
	@echo "make lock   recompile requirements.lock and requirements-test.lock from pyproject.toml"
	@echo "make messages  re-extract the partner reports' messages and update their catalogues (.po)"

$(INSTALLED): requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.lock
	@touch $@

$(INSTALLED_TEST): $(INSTALLED) requirements-test.lock
	$(PIP_INSTALL) -r requirements-test.lock
	@touch $@

# The browser the report tests render the site in (Debian's chromium), installed when missing.
CHROMIUM := $(shell command -v chromium 2>/dev/null)
chromium:
ifeq ($(CHROMIUM),)
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
endif

$(MANIFEST): $(INSTALLED) $(DBT_SOURCES)
	cd dbt_project && $(BIN)/dbt parse --quiet
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $@

setup: $(INSTALLED) $(MANIFEST) $(DAGSTER_HOME)/dagster.yaml

setup-test: setup $(INSTALLED_TEST) chromium

run: export SDG_API_MODE ?= $(or $(call dotenv,SDG_API_MODE),replay)
run: setup
	$(BIN)/python -m orchestration.run

# The report site alone, from the published file as it is now (`make run` rebuilds it after each publication).
report: setup
	$(BIN)/python -m ingestion.report

# Bytecode is cached for the tests even where the environment says not to (PYTHONDONTWRITEBYTECODE): every
# xdist worker would otherwise compile and assertion-rewrite every module again on every run.
test test-fast: export PYTHONDONTWRITEBYTECODE :=

test: setup-test
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

# The inner loop: everything but full pipeline runs (`e2e`), real dbt runs (`dbt`), GX validations of
# the suites (`gx`) and reading the whole bundled snapshot (`snapshot`); `make test` runs all of them.
test-fast: setup-test
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not e2e and not dbt and not gx and not snapshot"

dev: export SDG_API_MODE ?= $(or $(call dotenv,SDG_API_MODE),replay)
# dagster-dbt's prepare_if_dev() runs `dbt parse` on every load under `dagster dev`, with the dbt on PATH.
dev: export PATH := $(BIN):$(PATH)
dev: setup
	$(BIN)/dagster dev -w workspace.yaml

bench: setup
	$(BIN)/python -m bench

# Keeps today's pins where pyproject.toml still allows them (pip-compile reads the existing lock);
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed release.
lock:
	@[ -x $(LOCK_VENV)/bin/pip-compile ] || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/python -m pip install --disable-pip-version-check --quiet $(LOCK_TOOL); }
	$(PIP_COMPILE) $(LOCK_ARGS) -o requirements.lock pyproject.toml
	$(PIP_COMPILE) $(LOCK_ARGS) --extra test -c requirements.lock -o requirements-test.lock pyproject.toml

# The partner reports' gettext catalogues: extract every msgid from the code (Babel, as `pybabel extract`)
# into ingestion/partners/locale/messages.pot and update each locale/<language>/LC_MESSAGES/messages.po.
messages: $(INSTALLED)
	$(BIN)/python scripts/extract_messages.py

rollback: $(INSTALLED)
	$(BIN)/python scripts/rollback.py

# A draft partner contract from one of its files, for a person to review (never overwrites a contract).
# CONSTANTS: fields the file has no column for, e.g. CONSTANTS="geo_area_m49=4 unit=PT".
draft-contract: $(INSTALLED)
	@[ -n "$(PARTNER)" ] && [ -n "$(FILE)" ] || { echo "usage: make draft-contract PARTNER=<partner_id> FILE=<path> [CONSTANTS=\"geo_area_m49=4 ...\"]" >&2; exit 2; }
	$(BIN)/python -m ingestion.partners.draft --partner "$(PARTNER)" --file "$(FILE)" $(foreach constant,$(CONSTANTS),--constant "$(constant)")

clean:
	rm -rf warehouse reports dbt_project/target dbt_project/logs .pytest_cache
