# Entry points that work on a fresh machine (Python 3.10+ with venv):
#   make demo   set up .venv (core + [nlp]) and run the default chain on the bundled sample data
#   make test   set up .venv with every extra and run lint, tests and the docs build
#   make smoke  a core-only install (no extra) in .venv-core: `groundscore --help` and `verify` must run
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# torch/torchvision are pinned to a pair known to work together; override on
# machines that want another build, e.g. make test TORCH="torch torchvision".
TORCH  ?= torch==2.14.1 torchvision==0.29.1
# Where torch comes from. The default index serves CUDA builds (about 6.6 GB
# with their nvidia-* wheels); on a machine without a GPU use the CPU-only
# builds: make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PYTEST_ARGS ?=
# Trainer versions the integration tests are pinned to (docs/rewards/compatibility.md).
TRAINERS := -c constraints/trainers.txt

.PHONY: demo test lint docs smoke bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[nlp]'
	touch $@

# verl and OpenRLHF pin versions of transformers/flash-attn that cannot live in
# this environment; their reward-path modules are installed without
# dependencies into .hosts/ and appended to sys.path by a .pth file (after
# site-packages, so they never shadow the environment's own packages).
VERL_PKGS     := verl==0.9.1 tensordict==0.10.0 ray codetiming orjson hydra-core omegaconf antlr4-python3-runtime==4.9.3 pyvers msgpack protobuf jsonschema referencing rpds-py jsonschema-specifications attrs click filelock
OPENRLHF_PKGS := openrlhf==0.11.2 aiohttp pylatexenc multidict yarl frozenlist aiosignal aiohappyeyeballs propcache attrs

$(VENV)/.test-installed: pyproject.toml constraints/trainers.txt | $(BIN)/python
	$(PIP) install -q $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install -q -e '.[all,dev,integrations-test]' $(TORCH) $(TRAINERS)
	$(PIP) install -q -e ./plugins/groundscore-ocr
	$(PIP) install -q --no-deps --upgrade --target .hosts/verl $(TRAINERS) $(VERL_PKGS)
	$(PIP) install -q --no-deps --upgrade --target .hosts/openrlhf $(TRAINERS) $(OPENRLHF_PKGS)
	$(BIN)/python -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'zz_groundscore_hosts.pth'), 'w').write(''.join(os.path.abspath(p) + chr(10) for p in ('.hosts/verl', '.hosts/openrlhf')))"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/groundscore demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check groundscore tests benchmarks plugins

# No -q: a warning must be seen, and --strict fails the build on it.
docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

test: $(VENV)/.test-installed
	$(BIN)/ruff check groundscore tests benchmarks plugins
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site
	$(BIN)/pytest $(PYTEST_ARGS)

# A core install (`pip install .`, no extra, not editable), run from outside the
# source tree so that the installed package is the one imported.
CORE := .venv-core
smoke:
	rm -rf $(CORE)
	$(PYTHON) -m venv $(CORE)
	$(CORE)/bin/python -m pip install -q --upgrade pip
	$(CORE)/bin/python -m pip install -q .
	cd "$$(mktemp -d)" && \
	  $(abspath $(CORE))/bin/groundscore --help >/dev/null && \
	  $(abspath $(CORE))/bin/groundscore serve --help >/dev/null && \
	  $(abspath $(CORE))/bin/groundscore verify "$(abspath groundscore/data/demo/samples.jsonl)" -o reports.jsonl && \
	  test "$$(wc -l < reports.jsonl)" -eq "$$(wc -l < "$(abspath groundscore/data/demo/samples.jsonl)")" && \
	  echo "core install: groundscore --help and verify ran"

clean:
	rm -rf $(VENV) .venv-core .hosts site build dist *.egg-info .pytest_cache .ruff_cache
