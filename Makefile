# Two commands do everything on a fresh machine:
#   make demo   - create the environment and run the main job end to end on the embedded default
#   make test   - create the environment and run lint + the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN ?= runs/demo

.PHONY: demo test lint env setup clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --compile-bytecode --python $(BIN)/python -e '.[dev]'
	touch $@

# The Label Studio server pins many packages, so it lives in its own venv (.venv-ls).
LS_BIN := .venv-ls/bin/label-studio
$(LS_BIN):
	PYTHON=$(PYTHON) scripts/setup_label_studio.sh

env: $(BIN)/.installed $(LS_BIN)
setup: env

demo: $(BIN)/.installed $(LS_BIN)
	$(BIN)/cqia demo --run $(RUN)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: $(BIN)/.installed $(LS_BIN) lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .venv-ls runs .pytest_cache
