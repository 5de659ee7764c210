# The two commands: `make run` (embedded demo) and `make test` (PostgreSQL + Redis); `make unit`, the fast tier.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs in two workers, each with its own database, Redis index and stack (a test file stays in one).
TEST_WORKERS ?= 2

.PHONY: run test unit install install-test lint typecheck services browser pgbouncer clean bench bench-scale

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Embedded default: SQLite file under var/, in-process bus, worker and scheduler.
run: install
	env -u ELDERCARE_REDIS_URL $(BIN)/eldercare migrate
	env -u ELDERCARE_REDIS_URL $(BIN)/eldercare seed --demo
	env -u ELDERCARE_REDIS_URL $(BIN)/eldercare serve --host $(HOST) --port $(PORT)

## Everything, against real PostgreSQL and Redis (started here when installed but stopped).
test: install-test services browser pgbouncer
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy backend mobile_api worker
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## The fast tier, in under a minute: the tests marked `unit` (no process started; services on a rolled-back session).
unit: install-test services
	$(BIN)/pytest -m unit -p no:xdist $(PYTEST_ARGS)

services:
	@bash scripts/ensure-services.sh

## Debian's Chromium and a Chinese font for the browser tests (installed when missing).
browser:
	@bash scripts/ensure-browser.sh

## Debian's PgBouncer for the test through transaction pooling (installed when missing; its service left stopped).
pgbouncer:
	@bash scripts/ensure-pgbouncer.sh

lint: install-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

typecheck: install-test
	$(BIN)/mypy backend mobile_api worker

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## Order → offer latency on a private stack (not part of make test).
bench: install-test services
	$(BIN)/python -m benchmarks.order_to_offer --orders 200 --burst 20
	$(BIN)/python -m benchmarks.order_to_offer --orders 200 --burst 20 --embedded
	$(BIN)/python -m benchmarks.dispatch_latency --caregivers 20000 --orders 300
	$(BIN)/python -m benchmarks.beds --searches 500 --beds 2000 --clients 32
	$(BIN)/python -m benchmarks.alarm --alarms 100
	$(BIN)/python -m benchmarks.dashboard --per-day 5760 --repeats 30
	$(BIN)/python -m benchmarks.replica --per-day 5760 --repeats 30
	$(BIN)/python -m benchmarks.event_loop --rows 20000 --visits 20000 --plans 60 --plan-seconds 5
	mkdir -p var
	$(BIN)/eldercare bench dispatch --kind city --hours 4 --out var/bench-dispatch.json
	$(BIN)/eldercare bench planner --time-limit 30 --out var/bench-planner.csv

## City scale (README "Scale"): each against its bare reference in the same run, each under 15 minutes.
bench-scale: install-test services
	$(BIN)/python -m benchmarks.intake --clients 32 --seconds 20
	$(BIN)/python -m benchmarks.sockets --dashboards 1000 --phones 20000
	$(BIN)/python -m benchmarks.order_to_offer --orders 50 --apis 2 --rate 10 --seconds 60
	$(BIN)/python -m benchmarks.bursts --orders 200 --seconds 10 --caregivers 50
	$(BIN)/python -m benchmarks.city_day --sizes 1000 10000 --workers 2
	$(BIN)/python -m benchmarks.replica --per-day 5760 --repeats 30
