# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: run test lint format install bench

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py rundev $(HOST)

# Lighthouse (package.json), for the storefront's audit; a machine without npm skips that test.
node_modules/.installed: package.json package-lock.json
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $@; fi

# One pytest worker per core; tests that share the machine's crontab run on one worker (xdist_group).
# Lighthouse then audits alone: a page's load timed while the other worker loads both cores measures the
# machine, not the page. Exit status 5 is "no test selected": PYTEST_ARGS may pick tests of one run only.
test: install node_modules/.installed
	$(PY) -m pytest -n auto --dist loadgroup -m "not lighthouse" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PY) -m pytest -m lighthouse $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Load benchmark on PostgreSQL (bench/README.md): BENCH_ARGS="--large" or "--quick".
bench: install
	$(PY) -m bench.run $(BENCH_ARGS)
