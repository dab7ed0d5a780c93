# PsiFlow: `make run` serves the demo clinic, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app psiflow
HOST ?= 127.0.0.1
PORT ?= 5000
PATIENTS ?= 10000

RUN_ENV := PSIFLOW_ENV=$${PSIFLOW_ENV:-development}
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check
# A step's chatter goes to a log that is shown only when the step fails, so that what a
# newcomer sees last from `make run` is the demo logins and the address.
LOG := $(VENV)/make.log
QUIETLY = >$(LOG) 2>&1 || { cat $(LOG); echo "(failed; the output above is in $(LOG))"; exit 1; }

.PHONY: install run test lint bench

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# What serving the app needs, and nothing of the test tools.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/activate
	@echo "Installing PsiFlow and its pinned dependencies into $(VENV)..."
	@$(PIP_INSTALL) --upgrade pip $(QUIETLY)
	@$(PIP_INSTALL) -e . $(QUIETLY)
	@touch $@

# The test extras (pytest, Playwright, Hypothesis, Ruff, the HTML checker) on top.
$(VENV)/.installed: $(VENV)/.installed-run
	@echo "Installing the test tools into $(VENV)..."
	@$(PIP_INSTALL) -e '.[test]' $(QUIETLY)
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed-run
	@echo "Migrating the database and refreshing stored values..."
	@$(RUN_ENV) $(FLASK) db upgrade $(QUIETLY)
	@$(RUN_ENV) $(FLASK) stored-values refresh $(QUIETLY)
	@$(RUN_ENV) $(FLASK) seed-demo --if-empty
	@echo "PsiFlow is at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@$(RUN_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check psiflow tests wsgi.py $(wildcard bench)
	$(BIN)/ruff format --check psiflow tests wsgi.py $(wildcard bench)

bench: install
	$(BIN)/python -m bench.run --patients $(PATIENTS)
