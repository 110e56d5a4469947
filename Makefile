# streamdex: the same commands on a laptop, in CI (.ci/run) and in the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP_VENV := .venv-app

.PHONY: install run test lint check-app-deps clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

## run the application loop on the local default (STREAMDEX_DB, ROLLUP_HTTP_SERVER_URL)
run: install
	$(BIN)/python -m dapp

## lint + the whole test suite
test: lint check-app-deps
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy dapp devnet benchmark

## dapp/ must import with requirements.txt alone: that is all the Cartesi machine gets
check-app-deps:
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install --quiet -r requirements.txt
	$(APP_VENV)/bin/python -c "import importlib, pkgutil, dapp; \
	[importlib.import_module(m.name) for m in pkgutil.walk_packages(dapp.__path__, 'dapp.')]; \
	print('dapp imports with requirements.txt alone')"

clean:
	rm -rf $(VENV) $(APP_VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
