# ShareLine — the two commands from the README, and a few more.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench migrate test-asterisk clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: start the whole suite on SQLite under ./var and print where to go
run: $(STAMP)
	$(BIN)/python -m deploy.launcher

## make test: install what is needed and run the whole suite
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services gateway deploy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
