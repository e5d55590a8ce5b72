# ShareLine — the two commands from the README, and a few more.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench migrate migration migrate-check settings-doc deploy-check test-asterisk clean

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

## make migrate: bring every service's database to the newest schema (reads the services' settings)
migrate: $(STAMP)
	$(BIN)/python -m deploy.migrate upgrade

## make migrate-check: exit 1 when a service's database is behind
migrate-check: $(STAMP)
	$(BIN)/python -m deploy.migrate check

## make migration SERVICE=extensions MESSAGE="add queues": autogenerate a revision from the models
migration: $(STAMP)
	@test -n "$(SERVICE)" || { echo 'usage: make migration SERVICE=<extensions|licensing|aps|gateway> MESSAGE="..."'; exit 2; }
	$(BIN)/python -m deploy.migrate revision --service "$(SERVICE)" --message "$(or $(MESSAGE),schema change)"

## make settings-doc: regenerate the settings table in docs/operations.md
settings-doc: $(STAMP)
	$(BIN)/python -m deploy.settings_table --write docs/operations.md

## make deploy-check: lint and validate the Compose file and the Kubernetes manifests offline
deploy-check: $(STAMP)
	$(BIN)/yamllint -c deploy/.yamllint deploy/compose.yaml deploy/k8s
	$(BIN)/python -m pytest -q tests/deploy

## make test-asterisk: the integration tests against a real Asterisk (docs/asterisk.md);
## SHARELINE_ASTERISK_BIN=/path/to/sbin/asterisk, else they are skipped. Installs sipp.
test-asterisk: $(STAMP)
	@command -v sipp >/dev/null 2>&1 || { echo "installing sipp (Debian package sip-tester)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y sip-tester; else sudo apt-get install -y sip-tester; fi; }
	@test -n "$$SHARELINE_ASTERISK_BIN" || echo "SHARELINE_ASTERISK_BIN is not set: the Asterisk tests will be skipped"
	$(BIN)/python -m pytest -m asterisk tests/asterisk $(PYTEST_ARGS)

## make bench: boot storm, commit scaling, allocation contention against real processes;
## writes docs/benchmarks.md (about 10 minutes; installs wrk and nginx-light if missing).
## BENCH_ARGS="--devices 1000 --sizes 1000,2000" for a quick look.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services gateway deploy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
