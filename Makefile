# Two commands do everything on a fresh machine:
#   make demo   - create the environment and run the main job end to end on the embedded default
#   make test   - create the environment and run lint + the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN ?= runs/demo

.PHONY: demo test lint env clean bench-quick

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -e '.[dev]'
	touch $@

env: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/cqia demo --run $(RUN)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
