# Developer and CI entry points.  CI runs `make test` through .ci/run.
# Everything runs from .venv, which `make venv` builds from the package
# registry alone (plain pip) and rebuilds only when the packaging files change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test demo bench fmt clean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "durable needs Python 3.11+, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# Editable, in setuptools' default ("lenient") mode: see pyproject.toml.
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

test: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/python scripts/typecheck.py
	$(BIN)/pytest

demo: venv
	$(BIN)/python examples/hello_chain.py

bench: venv
	$(BIN)/python benchmarks/run.py

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -path ./benchmarks/.venvs -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
