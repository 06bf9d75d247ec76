# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test venv lint chromium pdf-libraries

$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	touch $@

venv: $(VENV)/.installed

# The zero-setup demo: SQLite, Celery in-process, the Xero sandbox in-process, email to the console.
DEMO_PORT ?= 8000
demo: venv pdf-libraries
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py demo 127.0.0.1:$(DEMO_PORT)

# The whole suite against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, local servers by default),
# in parallel: one pytest-xdist worker per core, at most 8, each with its own test database and
# Redis db (config/settings_test.py). Tests are handed out one at a time, the longest first
# (tests/conftest.py orders them), so no worker is left with a long test at the end. `make test TEST_WORKERS=0` runs serially; PYTEST_ARGS adds options, e.g.
# `make test PYTEST_ARGS='-m "not browser"'`.
TEST_WORKERS ?= auto
PYTEST_ARGS ?=
# The browser tests need Debian's Chromium (Playwright's own download needs the internet):
# installed when missing, unless the run leaves the browser tests out.
ifeq ($(findstring not browser,$(PYTEST_ARGS)),)
test: chromium
endif
test: venv pdf-libraries
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 8 --dist load $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Chromium for the browser tests (tests/browser drive /usr/bin/chromium): apt-get, as root or
# through sudo; a clear message when neither can.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo=none; fi; \
	  if [ "$$sudo" != none ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium)..."; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; \
	  fi; \
	  if [ ! -x "$(CHROMIUM)" ]; then \
	    echo "The browser tests need Chromium at $(CHROMIUM), and it could not be installed here." >&2; \
	    echo "Install it (apt-get install chromium), or leave them out: make test PYTEST_ARGS='-m \"not browser\"'." >&2; \
	    exit 1; \
	  fi; \
	fi

# Pango and fonts for WeasyPrint (report packs' PDFs), as .ci/run installs them: apt-get, as root
# or through sudo, when the library is missing; a clear message when neither can.
pdf-libraries:
	@if ! ldconfig -p 2>/dev/null | grep -q libpango-1.0; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo=none; fi; \
	  if [ "$$sudo" != none ] && command -v apt-get >/dev/null; then \
	    echo "Installing Pango for the report packs' PDFs (apt-get install libpango-1.0-0 ...)..."; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; \
	  fi; \
	  if ! ldconfig -p 2>/dev/null | grep -q libpango-1.0; then \
	    echo "The report packs' PDFs need Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)." >&2; \
	    exit 1; \
	  fi; \
	fi
