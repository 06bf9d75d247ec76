# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test venv lint

$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	touch $@

venv: $(VENV)/.installed

# The zero-setup demo: SQLite, Celery in-process, the Xero sandbox in-process, email to the console.
demo: venv
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py demo 127.0.0.1:8000

# The whole suite against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, local servers by default),
# in parallel: one pytest-xdist worker per core, at most 8, each with its own test database and
# Redis db (config/settings_test.py). Tests are handed out one at a time, the longest first
# (tests/conftest.py orders them), so no worker is left with a long test at the end. `make test TEST_WORKERS=0` runs serially; PYTEST_ARGS adds options, e.g.
# `make test PYTEST_ARGS='-m "not browser"'`.
TEST_WORKERS ?= auto
PYTEST_ARGS ?=
test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 8 --dist load $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
