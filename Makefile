# dispo: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11 + make).
# `make demo` installs only what the demo runs (not the Spark extra: ~500 MB of pyspark);
# `make test` installs everything the tests need (dev tools and the Spark extra).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test bench bench-spark install clean readme-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $(STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev,spark]'
	@touch $(STAMP) $(TEST_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dispo run pipelines/lender_loss_mitigation.toml
	$(BIN)/dispo run pipelines/investor_nightly.toml

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py

bench-spark: $(TEST_STAMP)
	$(BIN)/python bench/spark.py

clean:
	rm -rf reports .pytest_cache .hypothesis
