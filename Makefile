# MedKB: the two commands are `make demo` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
ENV := source $(ROOT)/ops/env.sh && export PATH="$(VENV)/bin:$$PATH"
TEST_ENV := export MEDKB_ENV=test && $(ENV)
STAMP := $(VENV)/.medkb-installed
# Measured: pip's peak on an empty venv, with no cache kept (9.3 GB), and some room for the services.
INSTALL_NEED_MB ?= 10240

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: $(STAMP) ## system packages, the venv from requirements.lock, medkb in editable mode
install-system: ## Debian packages the services need (postgresql, redis, maven, java)
	@bash ops/install-system.sh

$(STAMP): requirements.lock requirements.in pyproject.toml
	@bash ops/install-system.sh
	@if [ ! -x $(PY) ]; then \
	  free_mb=$$({ df --output=avail -BM "$(ROOT)" "$${TMPDIR:-/tmp}" 2>/dev/null || true; } | tail -n +2 | tr -dc '0-9\n' | sort -n | head -1); \
	  if [ -n "$$free_mb" ] && (( free_mb < $(INSTALL_NEED_MB) )); then \
	    echo "ERROR [install]: a fresh venv needs about $(INSTALL_NEED_MB) MB free while pip installs (torch's CUDA wheels: 9.3 GB at the peak, 6.3 GB after); $(ROOT) or $${TMPDIR:-/tmp} has $$free_mb MB free" >&2; \
	    df -h "$(ROOT)" "$${TMPDIR:-/tmp}" >&2; exit 1; \
	  fi; \
	fi
	@start=$$(date +%s); \
	[ -x $(PY) ] || python3.11 -m venv $(VENV); \
	$(VENV)/bin/pip install -q --no-cache-dir --upgrade "pip>=24" && \
	$(VENV)/bin/pip install -q --no-cache-dir -c requirements.lock -r requirements.in && \
	$(VENV)/bin/pip install -q --no-cache-dir --no-deps -e . && \
	echo "install: done in $$(( $$(date +%s) - start )) s, venv $$(du -sh $(VENV) | cut -f1)"
	@touch $(STAMP)

lock: ## regenerate requirements.lock from a fresh resolve of requirements.in
	rm -rf $(ROOT)/.lockvenv && python3.11 -m venv $(ROOT)/.lockvenv
	$(ROOT)/.lockvenv/bin/pip install -q -r requirements.in
	$(ROOT)/.lockvenv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf $(ROOT)/.lockvenv

services: install-system ## start Postgres, Neo4j and Redis (idempotent) and migrate
	@$(ENV) && bash ops/services.sh up && medkb db migrate && medkb kb init
services-down: ## stop the local services (dev and test Neo4j)
	@$(ENV) && bash ops/services.sh down
	@$(TEST_ENV) && bash ops/services.sh down neo4j
services-status: ## one line per service
	@$(ENV) && bash ops/services.sh status || true
	@$(TEST_ENV) && bash ops/services.sh status neo4j || true

airflow: install services ## start the Airflow api-server, scheduler, dag-processor, triggerer (UI on :8080)
	@$(ENV) && bash ops/airflow.sh up
airflow-down: ## stop the Airflow processes
	@$(ENV) && bash ops/airflow.sh down

demo: install services ## the nightly refresh DAG end to end on the sample data, then what landed
	@$(ENV) && medkb data sample --patients $${MEDKB_DEMO_PATIENTS:-10} >/dev/null
	@$(ENV) && echo "demo: seeding ontologies (HPO, MeSH, ICD-10-CM; idempotent, 1-3 min)" && medkb kb seed
	@$(ENV) && python ops/demo.py

test: install ## start the test services and run the whole suite (unit, integration, DAG tests)
	@$(TEST_ENV) && bash ops/services.sh up && medkb db migrate >/dev/null
	@$(TEST_ENV) && rc=0; python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: install ## ruff
	@$(VENV)/bin/ruff check medkb dags plugins tests bench

.PHONY: help install install-system lock services services-down services-status airflow airflow-down demo test lint
