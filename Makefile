# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test unit integration e2e lint fmt typecheck check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup  ## Start API + worker + scheduler in one process on 127.0.0.1:3100 (SQLite).
	$(BIN)/routines up

test: setup  ## The whole suite: unit, integration (PostgreSQL + Redis), end to end.
	$(BIN)/pytest -q

unit: setup
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

e2e: setup
	$(BIN)/pytest -q tests/e2e

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: setup
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .routines .pytest_cache .mypy_cache .ruff_cache

.PHONY: k8s-check
k8s-check: setup  ## Validate k8s/ offline: Kubernetes schemas, cross-references, Grafana dashboard.
	$(BIN)/python -m k8s.check

.PHONY: bench bench-quick bench-scheduler bench-tools
bench-tools: setup
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "bench: wrk is missing: sudo apt-get install -y wrk"; exit 1; fi; }
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install -q py-spy==0.4.3

bench-quick: bench-tools  ## The headline fire ratios in under 3 minutes (bench/results/fire-quick.json).
	$(BIN)/python -m bench.fire --quick

bench: bench-tools  ## Fire and memory benchmarks, distributed mode (PostgreSQL, Redis, wrk); see bench/.
	$(BIN)/python -m bench.fire --profile
	$(BIN)/python -m bench.memory

bench-scheduler: setup  ## Scheduler benchmark: many due schedule triggers, then an idle scan.
	$(BIN)/python -m bench.scheduler

.PHONY: fuzz
fuzz: setup  ## The schema-driven fuzz with a larger budget (CI runs 30 examples per operation).
	ROUTINES_FUZZ_EXAMPLES=$${ROUTINES_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q tests/integration/fuzz
