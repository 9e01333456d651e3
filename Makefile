# The two commands a new user needs: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SETUP  := $(VENV)/.installed
REAL_DATA := ../shared/data/real

.PHONY: run test lint ui clean

# Recreated whenever the pins or the package metadata change.
$(SETUP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(SETUP)

run: $(SETUP)
	$(BIN)/neighborhood-metrics demo

test: $(SETUP)
	@test -d $(REAL_DATA) || { echo "error: $(REAL_DATA) is missing: the tests read the real public exports from there"; exit 1; }
	$(BIN)/pytest

lint: $(SETUP)
	$(BIN)/ruff check pipelines tests benchmarks
	$(BIN)/ruff format --check pipelines tests benchmarks
	$(BIN)/sqlfluff lint dbt_project/models --dialect duckdb

ui: $(SETUP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/dagster} $(BIN)/dagster dev -m pipelines.definitions

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
