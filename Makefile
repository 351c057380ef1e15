# Saylau task runner: `make help` lists the targets. CI runs `make test` (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Re-install whenever the project's dependencies change.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
ARTIFACTS ?= test-artifacts

.PHONY: help run test lint bench schema messages system-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP) ## install into .venv, then run everything on this machine with a simulated day
	@[ -n "$$($(VENV)/bin/saylau users list)" ] || { echo "No dashboard user yet: choose a password for 'admin' (headquarters)."; $(VENV)/bin/saylau users add admin --role headquarters; }
	SAYLAU_DASHBOARD_SECRET="$${SAYLAU_DASHBOARD_SECRET:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(32))')}" $(VENV)/bin/saylau up --simulate

system-deps: ## (root on Debian) install clickhouse-server, chromium, chromium-driver if missing
	@bash infra/install-test-deps.sh

test: $(TEST_STAMP) system-deps ## install test extras and services, run the whole suite
	mkdir -p $(ARTIFACTS)
	$(PY) -m pytest -ra

lint: $(TEST_STAMP) ## ruff, mypy and the import layers (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(TEST_STAMP) ## run the benchmarks in bench/ (each prints its figures)
	@for script in bench/*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(PY) $$script || exit 1; done

schema: $(RUN_STAMP) ## regenerate saylau/core/event.schema.json from the contract models
	$(PY) -m saylau.core.contract

messages: $(TEST_STAMP) ## extract the texts from the code, update every catalog, show how complete each is (Babel)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 -k t -k t_n:1,2 -k tr --no-location \
		--sort-output --omit-header -o saylau/locale/saylau.pot .
	$(VENV)/bin/pybabel update -i saylau/locale/saylau.pot -d saylau/locale -D saylau \
		--no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d saylau/locale -D saylau --statistics

clean: ## remove the venv, data and test artifacts
	rm -rf $(VENV) data $(ARTIFACTS) .pytest_cache
