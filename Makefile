# The README's two commands: `make run` (set up, build, serve on :8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: lock run test setup frontend lint typecheck check-docker jstest pytest system-deps clean bench

run: setup
	$(BIN)/gradstage serve --host $(HOST) --port $(PORT)

test: setup system-deps lint typecheck check-docker jstest pytest

# The front end is built first: the wheel (and the editable install) carry static/dist.
setup: static/dist/.built $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml | static/dist/.built
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3 || true
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/dist/.built: node_modules/.installed $(shell find static -path static/dist -prune -o -type f -print 2>/dev/null) build.mjs
	npm run --silent build
	touch $@

frontend: static/dist/.built

system-deps:
	bash scripts/system-deps.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npm run --silent check

typecheck: setup
	$(BIN)/mypy

check-docker: setup
	$(BIN)/hadolint Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml

jstest: setup
	npm run --silent test

# Browser tests run in their own session: Playwright's sync API keeps an event loop running in
# the worker's main thread, which the asyncio-based sandbox and API tests cannot share.
pytest: setup
	$(BIN)/pytest -n 2 --dist loadgroup -m "not browser"
	$(BIN)/pytest -n 2 --dist loadgroup -m browser

bench: setup
	for b in bench/*.py; do [ $$b = bench/models.py ] && continue; echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules static/dist build dist

lock:
	(echo "# Every Python package, pinned (pip freeze of .venv). Regenerate: make lock"; \
	 $(BIN)/pip freeze | grep -v '^-e' | sed 's/^torch==2.13.0+cpu/torch==2.13.0/') > requirements.lock
	$(PY) scripts/runtime_lock.py
