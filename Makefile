# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
#: What running needs (requirements.txt), then what testing adds (requirements-dev.txt):
#: both are lock files with hashes, made from pyproject.toml by `make lock`.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
UV := uv==0.13.8

.PHONY: setup setup-runtime lock run run-distributed test unit integration e2e lint fmt typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.txt
	touch $(STAMP)

setup-runtime: $(RUNTIME_STAMP)

setup: $(STAMP)

lock: | $(BIN)/python  ## Re-make requirements*.txt (pinned, hashed) from pyproject.toml.
	test -x $(BIN)/uv || $(BIN)/python -m pip install -q $(UV)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command "make lock" -q -o requirements.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --custom-compile-command "make lock" -q -o requirements-dev.txt

run: setup-runtime  ## Start API + worker + scheduler in one process on 127.0.0.1:3100 (SQLite).
	$(BIN)/routines up

#: honcho under launcher.stop_once: a SIGTERM to make's group would reach honcho twice (make
#: forwards it too), and a second SIGTERM can deadlock honcho's handler; see that module.
run-distributed: setup-runtime  ## Distributed mode on local PostgreSQL and Redis (honcho + Procfile): the edge (nginx) on 127.0.0.1:3100, web behind it.
	@. $(BIN)/activate && \
	export DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/routines} && \
	export REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} && \
	export ROUTINES_ADMIN_TOKEN=$${ROUTINES_ADMIN_TOKEN:-$$(routines admin-token)} && \
	export ROUTINES_SECRET_KEY=$${ROUTINES_SECRET_KEY:-$$(cat "$${ROUTINES_DATA_DIR:-.routines}/secret-key")} && \
	echo "admin token: $$ROUTINES_ADMIN_TOKEN" && \
	exec python -m launcher.stop_once honcho start

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

bench: bench-tools  ## Fire, memory and history-growth benchmarks, distributed mode (PostgreSQL, Redis, wrk); see bench/.
	$(BIN)/python -m bench.fire --profile
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.embedded
	$(BIN)/python -m bench.growth

bench-scheduler: setup  ## Scheduler benchmark: many due schedule triggers, then an idle scan.
	$(BIN)/python -m bench.scheduler

.PHONY: fuzz
fuzz: setup  ## The fuzz with larger budgets (CI: 30 examples per operation, schemathesis 10).
	ROUTINES_FUZZ_EXAMPLES=$${ROUTINES_FUZZ_EXAMPLES:-300} \
	ROUTINES_SCHEMATHESIS_EXAMPLES=$${ROUTINES_SCHEMATHESIS_EXAMPLES:-100} \
	  $(BIN)/pytest -q tests/integration/fuzz tests/e2e/test_schemathesis.py

# The container image: one image, every process type (`routines web | worker | scheduler |
# db upgrade`). BASE may name another base image with python3 3.11+, e.g. a local one.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= routines:$(VERSION)
BASE ?= python:3.11-slim-bookworm
ENGINE ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
#: Behind an intercepting HTTPS proxy (podman only): a CA bundle pip should trust while
#: building, e.g. CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt. It is not kept in the image.
CA_BUNDLE ?=
BUILD_FLAGS ?=

.PHONY: image image-test
image:  ## Build the container image (podman or docker, whichever is installed).
	@test -n "$(ENGINE)" || { echo "image: neither podman nor docker is installed"; exit 1; }
	$(ENGINE) build --tag $(IMAGE) --build-arg BASE=$(BASE) --build-arg VERSION=$(VERSION) \
	  --build-arg REVISION=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown) \
	  $(if $(CA_BUNDLE),--volume=$(CA_BUNDLE):/etc/ssl/certs/ca-certificates.crt:ro \
	    --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt) $(BUILD_FLAGS) .

image-test: setup  ## Build the image on a local Debian base and run it against PostgreSQL and Redis.
	$(BIN)/pytest -q -m container tests/e2e/test_container_image.py
