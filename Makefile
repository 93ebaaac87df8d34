# The two Quick start commands: `make example` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/rendered

.PHONY: example test fuzz bench schema goldens clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The main job on the bundled example, no cloud account needed: validate, plan against the
# (empty) render folder, render, and plan again (now: no changes).
example: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/modeldeploy validate examples/iris/deploy.yaml
	mkdir -p $(OUT)   # an existing empty folder: nothing deployed yet
	$(BIN)/modeldeploy plan examples/iris/deploy.yaml --against $(OUT) --env prod
	$(BIN)/modeldeploy render examples/iris/deploy.yaml --env prod -o $(OUT)
	$(BIN)/modeldeploy plan examples/iris/deploy.yaml --against $(OUT) --env prod --detailed-exitcode

# Installs what the tests need (mlflow, moto, the cloud SDKs, hadolint, ruff, mypy; checkov in a
# virtualenv of its own because its pins clash with the SDKs'; chromium via apt for the evaluation
# report test), lints, type-checks and runs them all, under a private Docker engine that
# tests/docker/engine.sh starts (installing docker.io and mmdebstrap if missing) and stops again however
# the tests end. The engine tests run after the rest, in one process (tests/run.sh says why).
test: $(BIN)/python .venv-checkov/bin/checkov
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/ruff check modeldeploy tests bench setup.py
	$(BIN)/ruff format --check modeldeploy tests bench setup.py
	$(BIN)/mypy
	sh tests/install-browser.sh
	MODELDEPLOY_REQUIRE_BROWSER=1 tests/docker/engine.sh run -- sh tests/run.sh $(BIN)/python

.venv-checkov/bin/checkov:
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet 'checkov==3.3.30'

# Nightly-style fuzzing: the property tests with 20x their examples and random seeds (CI runs the
# fixed, derandomized set).
fuzz: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	MODELDEPLOY_FUZZ_SCALE=20 $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider tests/property

schema: $(BIN)/python
	$(BIN)/modeldeploy schema > schemas/deploy.schema.json

# Rewrites every golden file that differs and then fails (exit 1) if it rewrote anything: review the
# diff, commit, run again. A test run itself never rewrites a golden.
goldens: $(BIN)/python
	$(BIN)/python -m tests.goldens update

bench: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python bench/run.py

clean:
	tests/docker/engine.sh stop
	rm -rf out .pytest_cache .cache
