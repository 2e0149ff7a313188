# Feira: `make up` starts everything, `make test` checks everything. `make help` lists the rest.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STACK := $(PY) -m stack
TEST_STACK := FEIRA_ENV_FILE=stack/test.env $(STACK)
ROBOT_ARGS ?=
BENCH_ARGS ?=
# Tests tagged `fault` stop and start processes of the stack: the test stack runs them, a plain
# `make robot` on your dev stack leaves them out (`make robot ROBOT_FAULTS=` runs them too).
ROBOT_FAULTS ?= --exclude fault

.DEFAULT_GOAL := help
.PHONY: help install up down status logs start stop restart clean test lint pytest robot \
        test-stack seed bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@bash stack/ensure-system.sh
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "==> installing the project into $(VENV)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## create .venv and install the project (and nginx/PostgreSQL if missing)

up: install ## start Postgres, every service and the gateway under supervisord
	@$(STACK) up

down: install ## stop everything (data is kept in .run/)
	@$(STACK) down

status: install ## what is running
	@$(STACK) status

logs: install ## follow every log
	@$(STACK) logs --follow

start: install ## start one process: make start SERVICE=clients
	@test -n "$(SERVICE)" || { echo "usage: make start SERVICE=name"; exit 2; }
	@$(STACK) start $(SERVICE)

stop: install ## stop one process: make stop SERVICE=clients
	@test -n "$(SERVICE)" || { echo "usage: make stop SERVICE=name"; exit 2; }
	@$(STACK) stop $(SERVICE)

restart: install ## restart one process (or all): make restart SERVICE=auth
	@$(STACK) restart $(or $(SERVICE),all)

clean: install ## stop and remove .run/ (the database too)
	@$(STACK) clean

lint: install ## ruff
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .

pytest: install ## the pytest suites against a throwaway PostgreSQL
	@$(PY) -m pytest

robot: install ## the Robot suites against a running stack (make up first)
	@$(PY) -m robot --outputdir robot-tests/results --xunit xunit.xml \
	    --variablefile robot-tests/variables/local.py $(ROBOT_FAULTS) $(ROBOT_ARGS) robot-tests/suites
	@echo "==> reports in robot-tests/results/ (log.html, report.html, output.xml, xunit.xml)"

test-stack: install ## a fresh stack on the test ports, the Robot suites, then down
	@$(TEST_STACK) clean
	@$(TEST_STACK) up
	@status=0; FEIRA_ENV_FILE=stack/test.env $(MAKE) --no-print-directory robot ROBOT_FAULTS= \
	    || status=$$?; \
	    $(TEST_STACK) down; exit $$status

test: lint pytest test-stack ## lint, pytest, then the stack on its own ports and Robot through it

seed: install ## load demo data through the API (make up first)
	@$(PY) -m stack.seed

bench: install ## throughput and latency figures on loopback (needs wrk)
	@$(PY) -m bench $(BENCH_ARGS)
