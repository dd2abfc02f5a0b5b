# The two promises: `make demo` runs the app on its embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-reset test test-stock test-postgres lint bench bench-scale

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Other addresses: `make demo ADDR=127.0.0.1:8001 RPC_PORT=8901` (the web server, the local chain's port).
ADDR ?= 127.0.0.1:8000
RPC_PORT ?=
DEMO_ENV := $(if $(RPC_PORT),SOLANA_PAYMENTS_RPC_URL=http://127.0.0.1:$(RPC_PORT))

demo: $(STAMP)
	$(DEMO_ENV) $(PY) manage.py solana_payments_demo --addr $(ADDR)

demo-reset: $(STAMP)
	$(DEMO_ENV) $(PY) manage.py solana_payments_demo --addr $(ADDR) --reset

test: $(STAMP)
	$(PY) -m pytest

# The suite on Django's stock SQLite backend (the slow reliability and browser tests run once, in `make test`).
test-stock: $(STAMP)
	SOLANA_PAYMENTS_TEST_DB=stock $(PY) -m pytest -m "not slow and not browser"

# The suite on PostgreSQL (127.0.0.1:5432, user postgres), in a test database of its own per run.
test-postgres: $(STAMP)
	SOLANA_PAYMENTS_TEST_DB=postgres $(PY) -m pytest -m "not slow and not browser"

# ruff, then the layers of docs/architecture.md (import-linter's contracts in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The benchmark: each operation on 1,000 and 10,000 records (BENCH_SIZES=1000 for a quick run), and each
# again on a node 80 ms away (python -m tests.bench.run --latency-ms 0 to skip).
BENCH_SIZES ?= 1000,10000
bench: $(STAMP)
	$(PY) -m tests.bench.run --sizes $(BENCH_SIZES)

# The scale benchmark on PostgreSQL (127.0.0.1:5432): a million payments, four million run items, in a
# database of its own. Not part of `make test`. SCALE_ARGS=--reuse keeps an already seeded database.
SCALE_PAYMENTS ?= 1000000
SCALE_ITEMS ?= 4000000
bench-scale: $(STAMP)
	$(PY) -m tests.bench.scale --payments $(SCALE_PAYMENTS) --items $(SCALE_ITEMS) $(SCALE_ARGS)
