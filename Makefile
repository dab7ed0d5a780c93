# PsiFlow: `make run` serves the demo clinic, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app psiflow
HOST ?= 127.0.0.1
PORT ?= 5000
PATIENTS ?= 10000

.PHONY: install run test lint bench

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	PSIFLOW_ENV=$${PSIFLOW_ENV:-development} $(FLASK) db upgrade
	PSIFLOW_ENV=$${PSIFLOW_ENV:-development} $(FLASK) stored-values refresh
	PSIFLOW_ENV=$${PSIFLOW_ENV:-development} $(FLASK) seed-demo --if-empty
	@echo "PsiFlow is at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	PSIFLOW_ENV=$${PSIFLOW_ENV:-development} $(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check psiflow tests wsgi.py $(wildcard bench)
	$(BIN)/ruff format --check psiflow tests wsgi.py $(wildcard bench)

bench: install
	$(BIN)/python -m bench.run --patients $(PATIENTS)
