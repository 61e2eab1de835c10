# nemogym-docent: every target bootstraps .venv from the committed lock files.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null)
STAMP := $(VENV)/.installed

.PHONY: install lock models check-models lint typecheck test demo bench clean

install: $(STAMP)

$(STAMP): requirements-dev.lock pyproject.toml
	@if [ -z "$(UV)" ]; then $(PYTHON) -m pip install --quiet uv; fi
	@UV=$$(command -v uv || echo "$(PYTHON) -m uv"); \
	  [ -x $(BIN)/python ] || $$UV venv --quiet --python $(PYTHON) $(VENV); \
	  $$UV pip sync --quiet --python $(BIN)/python requirements-dev.lock && \
	  $$UV pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

lock:
	uv pip compile --quiet pyproject.toml -o requirements.lock
	uv pip compile --quiet pyproject.toml --extra dev -o requirements-dev.lock

models: install
	scripts/generate-models.sh

check-models: install
	scripts/generate-models.sh --check

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

test: install check-models lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/nemogym-docent convert examples/rollouts.jsonl -o examples/agent_runs.jsonl

bench: install
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
