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
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,demo,ml-tests]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	@mkdir -p out
	$(BIN)/wattprint devices
	@echo "--- a real training run, measured per epoch (record: out/demo-run.json)"
	$(BIN)/python examples/train_digits.py --zone $${WATTPRINT_ZONE:-DE} --json out/demo-run.json
	@echo "--- the run as the store keeps it"
	$(BIN)/wattprint show latest
	@echo "--- the run on one offline page: open out/demo-report.html in a browser"
	$(BIN)/wattprint report latest --html out/demo-report.html
	@echo "--- any command, measured from outside"
	$(BIN)/wattprint run --project demo --zone $${WATTPRINT_ZONE:-DE} -- \
		$(BIN)/python examples/demo_workload.py 2
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
