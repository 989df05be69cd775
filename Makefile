# Two commands do all set-up on a fresh machine with only python3:
#   make demo   installs wattprint into .venv and measures a small real workload
#   make test   installs the dev tools and runs ruff, mypy and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	@mkdir -p out
	$(BIN)/wattprint devices
	$(BIN)/wattprint run --project demo --zone $${WATTPRINT_ZONE:-DE} --json out/demo-run.json -- \
		$(BIN)/python examples/demo_workload.py
	@echo "--- record: out/demo-run.json"
	@cat out/demo-run.json
	@echo "--- the run store (WATTPRINT_DB=$${WATTPRINT_DB:-the user data directory})"
	$(BIN)/wattprint runs --limit 5

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck unit

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
