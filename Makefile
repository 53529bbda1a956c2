# Two commands for a newcomer: `make run` and `make test`. Both create the virtual environment
# from the committed lock file when it is missing or out of date.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
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

.PHONY: help setup run test dev bench rollback clean

help:
	@echo "make run    set up, then run the main job on the bundled data and publish"
	@echo "make test   set up, then run the whole test suite"
	@echo "make dev    the Dagster UI on http://localhost:3000"
	@echo "make bench  run every benchmark (reports/bench/*.json)"
	@echo "make rollback  restore the previous published file"

$(INSTALLED): requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --no-input --quiet -r requirements.lock
	@touch $@

$(MANIFEST): $(INSTALLED) $(DBT_SOURCES)
	cd dbt_project && $(BIN)/dbt parse --quiet
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $@

setup: $(INSTALLED) $(MANIFEST) $(DAGSTER_HOME)/dagster.yaml

run: export SDG_API_MODE ?= $(or $(call dotenv,SDG_API_MODE),replay)
run: setup
	$(BIN)/python -m orchestration.run

test: setup
	$(BIN)/python -m pytest

dev: export SDG_API_MODE ?= $(or $(call dotenv,SDG_API_MODE),replay)
dev: setup
	$(BIN)/dagster dev -w workspace.yaml

bench: setup
	$(BIN)/python -m bench

rollback: $(INSTALLED)
	$(BIN)/python scripts/rollback.py

clean:
	rm -rf warehouse reports dbt_project/target dbt_project/logs .pytest_cache
