# CVR Tracker: `make run` starts the whole product, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The newest Python 3.12+ we can find: PATH first, then pyenv's versions.
# pyenv shims answer "command not found" for versions that are not selected,
# so each candidate is asked to run, not just looked up.
FIND_PYTHON := for c in python3.14 python3.13 python3.12 python3 \
	  $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  if $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo $$c; break; fi; \
	done

# The official API models the simulator and the tests use (see README): beside
# the repository, else beside the repository this one was cloned from.
ORIGIN := $(shell git config --get remote.origin.url 2>/dev/null)
SPECS_DIR ?= $(firstword $(wildcard $(CURDIR)/../shared/specs $(ORIGIN)/../shared/specs))
export SPECS_DIR

.PHONY: setup run test test-fast lint assets clean specs

$(VENV)/.installed: pyproject.toml
	@py="$$($(FIND_PYTHON))"; \
	if [ -z "$$py" ]; then \
	  echo "error: CVR Tracker needs Python 3.12 or newer (Django 6 refuses 3.11)." >&2; \
	  echo "       Install one (e.g. 'pyenv install 3.13') and run make again." >&2; exit 1; \
	fi; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  rm -rf $(VENV); echo "Creating $(VENV) with $$py"; $$py -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

# The static-analysis gates (bandit, semgrep, detect-secrets) in a virtualenv of their own:
# semgrep pins versions of packages (jsonschema...) that differ from the product's.
GATES := .venv-gates
$(GATES)/.installed: tools/gates.txt
	@py="$$($(FIND_PYTHON))"; \
	if [ ! -x $(GATES)/bin/python ]; then echo "Creating $(GATES) with $$py"; $$py -m venv $(GATES); fi
	$(GATES)/bin/python -m pip install --quiet --upgrade pip
	$(GATES)/bin/python -m pip install --quiet -r tools/gates.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is needed to build the front-end assets." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Front-end packages come from npm and are copied into static/vendor (git-ignored).
static/vendor/.built: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css static/vendor/
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/
	@touch $@

assets: static/vendor/.built

setup: $(VENV)/.installed $(GATES)/.installed assets
	@mkdir -p var

specs:
	@if [ -z "$(SPECS_DIR)" ] || [ ! -d "$(SPECS_DIR)/sp-api" ]; then \
	  echo "error: the official API models (shared/specs) were not found beside this" >&2; \
	  echo "       repository or its origin: set SPECS_DIR to the folder holding sp-api/." >&2; exit 1; \
	fi

run: setup specs
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup
	PORT=$(PORT) DEMO_CONNECT=1 $(PY) manage.py runall

# Two test processes (CI has 2 cores; most tests wait on a simulator, a worker process
# or a browser), a test file each at a time: a file's tests share their fixtures.
TEST_PROCESSES ?= 2

test: setup specs
	$(PY) -m pytest -q -n $(TEST_PROCESSES) --dist loadfile

test-fast: setup specs
	$(PY) -m pytest -q -n $(TEST_PROCESSES) --dist loadfile -m "not browser and not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q tests/test_static_gates.py

clean:
	rm -rf $(VENV) $(GATES) node_modules static/vendor
