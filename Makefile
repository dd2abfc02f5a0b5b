# The two promises: `make demo` runs the app on its embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-reset test lint bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py solana_payments_demo

demo-reset: $(STAMP)
	$(PY) manage.py solana_payments_demo --reset

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The benchmark: each operation on 1,000 and 10,000 records (BENCH_SIZES=1000 for a quick run).
BENCH_SIZES ?= 1000,10000
bench: $(STAMP)
	$(PY) -m tests.bench.run --sizes $(BENCH_SIZES)
