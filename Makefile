# Jing'an Toolbox — the two commands a newcomer needs:
#   make run    set up everything and serve http://127.0.0.1:5000 (PORT overrides)
#   make test   set up everything and run the whole suite (PostgreSQL + Redis when reachable)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP  := $(VENV)/.installed
export FLASK_APP := wsgi

.PHONY: run test lint install services migrate seed worker scheduler bench clean system-packages browser-packages

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/flask db upgrade heads

seed: migrate
	$(BIN)/flask toolbox seed --demo
	$(BIN)/flask toolbox calendar load-official

run: seed system-packages
	$(BIN)/python -m app.run_dev --port $(PORT)

services:
	@bash scripts/ensure_services.sh

system-packages:
	@bash scripts/ensure_system_packages.sh

browser-packages:
	@bash scripts/ensure_system_packages.sh browser

lint: install
	$(BIN)/ruff check .

test: install services browser-packages lint
	$(BIN)/python -m pytest

worker: install
	$(BIN)/flask toolbox worker

scheduler: install
	$(BIN)/flask toolbox scheduler

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

# One-click query benchmark (1,000,000 documents by default; see docs/search.md). BENCH_ARGS="--docs 50000"
bench: install
	$(BIN)/python benchmarks/search_bench.py $(BENCH_ARGS)

# The read path measured as a client loads it: wrk (installed here when apt-get can), 2 gunicorn workers, bare
# Flask and a raw-SQL reference of each endpoint in the same run (docs/performance.md). BENCH_API_ARGS="--sqlite-only"
.PHONY: bench-api
bench-api: install
	@bash scripts/ensure_system_packages.sh bench
	$(BIN)/python benchmarks/api_bench.py $(BENCH_API_ARGS)

# Red flood warning for the whole district, 5,000 people on duty (see docs/tools.md). Wipes BENCH_DATABASE_URL.
.PHONY: bench-flood
bench-flood: install
	$(BIN)/python benchmarks/flood_warning_bench.py $(BENCH_FLOOD_ARGS)
