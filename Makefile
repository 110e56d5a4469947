# streamdex: the same commands on a laptop, in CI (.ci/run) and in the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP_VENV := .venv-app
DEVNET_ARGS ?=

.PHONY: install run test lint check-app-deps notebooks cli clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

## npm packages pinned in package.json + package-lock.json (anvil, Cartesi Rollups, OpenZeppelin, solc)
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## the local stack: anvil, the Cartesi Rollups v2.2 contracts, the application, inspect on :8080
run: install
	$(BIN)/python -m devnet $(DEVNET_ARGS)

## the released Cartesi CLI 1.5 against `make run`'s v1 stack, e.g.
## make cli ARGS='send generic --input {"method":"transfer","args":{...}}'
V1_DAPP := 0xab7528bb862fB57E8A2BCd567a2e929a0Be56a5e
ANVIL_MNEMONIC := test test test test test test test test test test test junk
cli: install
	CHAIN=31337 ETH_RPC_URL=http://127.0.0.1:8545 node_modules/.bin/cartesi $(ARGS) \
	  --dapp $(V1_DAPP) --mnemonic-passphrase "$(ANVIL_MNEMONIC)"

## lint + the whole test suite
test: lint check-app-deps
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy dapp devnet client benchmark agents

## run every notebook in place (outputs and plots kept) with .venv's python3 kernel
notebooks: install
	$(BIN)/python notebooks/execute.py Simulation.ipynb $(wildcard notebooks/*.ipynb)

## dapp/ must import with requirements.txt alone: that is all the Cartesi machine gets
check-app-deps:
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install --quiet -r requirements.txt
	$(APP_VENV)/bin/python -c "import importlib, pkgutil, dapp; \
	[importlib.import_module(m.name) for m in pkgutil.walk_packages(dapp.__path__, 'dapp.')]; \
	print('dapp imports with requirements.txt alone')"

clean:
	rm -rf $(VENV) $(APP_VENV) node_modules .devnet .pytest_cache .hypothesis .mypy_cache .ruff_cache
