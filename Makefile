# Two entry points that work on a fresh machine (Python 3.10+ with venv):
#   make demo   set up .venv and run the default chain on the bundled sample data
#   make test   set up .venv with every extra and run lint, tests and the docs build
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# torch/torchvision are pinned to a pair known to work together; override on
# machines that want another build, e.g. make test TORCH="torch torchvision".
TORCH  ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: demo test lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[nlp]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[all,dev]' $(TORCH)
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/groundscore demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check groundscore tests benchmarks plugins

docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -q -d site

test: $(VENV)/.test-installed
	$(BIN)/ruff check groundscore tests benchmarks plugins
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -q -d site
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) site build dist *.egg-info .pytest_cache .ruff_cache
