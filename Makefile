# The two commands: `make run` (set up and serve) and `make test` (set up and check everything).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

.PHONY: setup db run lint test bench clean

# The venv is (re)built when pyproject.toml changes; the console script marks it done.
$(BIN)/authreg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# pycasbin's old name "casbin" shares its files: where it was installed, remove both, install anew
	if $(BIN)/pip show casbin >/dev/null 2>&1; then $(BIN)/pip uninstall --quiet --yes casbin pycasbin; fi
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/authreg

# `authreg init` migrates var/authreg.db and, the first time, writes the key that hashes data
# subjects (var/secret.key: random, kept out of git, readable by the owner only).
db: setup
	$(BIN)/authreg init
	$(BIN)/authreg apply policies

run: db
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - 'authreg:served_app()'

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/authreg test policies/tests
	$(BIN)/pytest

# Figures, not a pass/fail: decisions/s, latency, memory at 10 to 10,000 authorisations, beside
# a naive pycasbin enforcer (NAIVE_BUDGET_S seconds of it per size, default 20); then over HTTP
# through `authreg serve`: beside the floors of the same stack (a fixed JSON, a one-row commit)
# on SQLite and PostgreSQL, new connections and kept alive; sustained (100,000 logged, memory
# over 50,000 more); then at every size. Last, the impact report (`apply --dry-run --impact`) on
# 10,000 authorisations and 100,000 logged decisions, beside a naive full replay.
bench: setup
	$(BIN)/python -m bench.decisions
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.impact

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
