# nmdalab: two commands to a result.
#   make demo   - create .venv, install, run the default scenario, write a report
#   make test   - create .venv with the test extras, run the test suite
#   make bench  - the virtual-population benchmark (benchmarks/bench_population.py)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip

.PHONY: demo test validate bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/nmdalab run --out results/demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

validate: $(VENV)/.installed
	$(BIN)/nmdalab validate --out results/validation

# batched engine vs SciPy vs libRoadRunner on one virtual population (BENCH_ARGS="--n 1000" for a quick run)
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_population.py $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(PIP) install --quiet ruff
	$(BIN)/python -m ruff check src tests

clean:
	rm -rf results build dist src/*.egg-info .pytest_cache
