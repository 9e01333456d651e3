# The two commands a new user needs: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SETUP  := $(VENV)/.installed
TEST_SETUP := $(VENV)/.installed-test
# The real public exports the tests read: NBHD_REAL_DATA when set, as in tests/conftest.py.
REAL_DATA := $(or $(NBHD_REAL_DATA),../shared/data/real)
# The report's browser test drives Debian's chromium package (Playwright never downloads a browser here).
CHROMIUM  := /usr/bin/chromium

.PHONY: run test test-spark test-postgres lint ui clean

# Recreated whenever the pins or the package metadata change. requirements.lock pins one consistent set for
# everything (run and tests); `make run` installs from it only what the pipeline needs (the project's
# dependencies, at the locked versions), the test tools (the `dev` extra: pytest, playwright, sqlfluff, ...)
# come with the first `make test` or `make lint`.
$(SETUP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $(SETUP)

$(TEST_SETUP): $(SETUP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(TEST_SETUP)

run: $(SETUP)
	$(BIN)/neighborhood-metrics demo

# Installed only when missing; needs root (as on CI) or sudo.
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo -E) apt-get install -y -qq chromium

# Without $(REAL_DATA) the tests that read the real public exports are skipped, and named at the end with the
# reason; .ci/run sets NBHD_REQUIRE_REAL_DATA=1 so that CI fails instead.
test: $(TEST_SETUP) $(CHROMIUM)
	@test -d $(REAL_DATA) || echo "warning: $(REAL_DATA) is missing: the tests that read the real public exports will be skipped"
	@# dbt parses its project once here, not in two test workers at the same moment.
	$(BIN)/python -c "from pipelines.assets.dbt import dbt_project; dbt_project()"
	@# Two workers: most tests wait on one single-threaded subprocess (Dagster, dbt), so two share 2 cores well.
	@# Whole modules to each, the longest first (tests/conftest.py: pytest_collection_modifyitems).
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# The same dbt project on Spark (dbt-spark, a local PySpark session; needs Java 17): builds the demo's models
# on Spark and compares every published table with DuckDB's. The `spark` extra gets an environment of its own,
# pinned: with pyspark installed, great-expectations imports Spark Connect, whose import exits the process in
# Dagster's run workers (pyspark takes their bare __main__ for a doctest run).
SPARK_VENV := .venv-spark
SPARK := $(SPARK_VENV)/.installed
$(SPARK): pyproject.toml requirements.lock requirements-spark.lock
	$(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SPARK_VENV)/bin/python -m pip install --quiet -r requirements.lock
	$(SPARK_VENV)/bin/python -m pip install --quiet -c requirements.lock -c requirements-spark.lock -e '.[spark]'
	touch $(SPARK)

test-spark: $(SPARK)
	@command -v java >/dev/null || { echo "error: test-spark needs Java 17 (java on PATH) for PySpark"; exit 1; }
	$(SPARK_VENV)/bin/pytest tests_spark

# Dagster's storage on PostgreSQL (dagster-postgres.yaml): Debian's server, installed only when missing, runs in
# a temporary folder on 127.0.0.1; the daemon runs a sensor tick and a schedule tick against it.
PG_CTL := $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl))
POSTGRES := $(VENV)/.postgres-installed
$(POSTGRES): $(SETUP) requirements-postgres.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -c requirements-postgres.lock -e '.[postgres]'
	touch $(POSTGRES)

test-postgres: $(TEST_SETUP) $(POSTGRES)
	@test -n "$(PG_CTL)" || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo -E) apt-get install -y -qq postgresql; }
	$(BIN)/pytest tests_postgres

lint: $(TEST_SETUP)
	$(BIN)/ruff check pipelines tests tests_spark tests_postgres
	$(BIN)/ruff format --check pipelines tests tests_spark tests_postgres
	$(BIN)/sqlfluff lint dbt_project/models --dialect duckdb

# The Dagster UI and daemon (schedules, sensors, run queue) on the code location, at http://127.0.0.1:3000.
ui: $(SETUP)
	export DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/dagster}; mkdir -p $$DAGSTER_HOME; \
	test -f $$DAGSTER_HOME/dagster.yaml || cp dagster.yaml $$DAGSTER_HOME/; \
	$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) $(SPARK_VENV) data dbt_project/target dbt_project/logs
