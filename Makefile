# Two commands do all the set-up on a fresh machine with Python 3.11+ and pip:
#   make demo   creates .venv, installs gradjax, runs the main job on embedded data
#   make test   creates .venv if needed, runs the default (fast) test suite
#   make docs   builds the documentation site into site/ (warnings are errors)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-slow lint bench notebooks docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m gradjax.reproduce mnist5k --runs-dir runs/demo --out outputs/demo/mnist5k \
		--compare results/mnist5k

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff format --check . && $(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/estimators.py
	$(BIN)/python benchmarks/step_cost.py

notebooks: $(STAMP)
	$(BIN)/python notebooks/build_notebooks.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
