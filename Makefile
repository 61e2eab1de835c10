# nemogym-docent: every target bootstraps .venv from the committed lock files.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null)
STAMP := $(VENV)/.installed
RAY_VENV := .venv-ray
RAY_STAMP := $(RAY_VENV)/.installed

.PHONY: install lock models check-models lint typecheck test test-package test-ray test-server test-ui demo bench clean

# Byte-compiled modules: without them every command compiles its imports again (0.3 s of start-up)
# wherever PYTHONDONTWRITEBYTECODE is set. compileall skips what is up to date.
install: $(STAMP)
	@$(BIN)/python -m compileall -q src >/dev/null

$(STAMP): requirements-dev.lock pyproject.toml
	@if [ -z "$(UV)" ]; then $(PYTHON) -m pip install --quiet uv; fi
	@UV=$$(command -v uv || echo "$(PYTHON) -m uv"); \
	  [ -x $(BIN)/python ] || $$UV venv --quiet --python $(PYTHON) $(VENV); \
	  $$UV pip sync --quiet --compile-bytecode --python $(BIN)/python requirements-dev.lock && \
	  $$UV pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

lock:
	uv pip compile --quiet pyproject.toml -o requirements.lock
	uv pip compile --quiet pyproject.toml --extra dev -o requirements-dev.lock
	uv pip compile --quiet pyproject.toml --extra dev --extra ray -c requirements-dev.lock \
	  -o requirements-ray.lock

models: install
	scripts/generate-models.sh

check-models: install
	scripts/generate-models.sh --check

lint: install
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/mypy

test: install check-models lint
	$(BIN)/python -m pytest -n auto -m "not package"

# The package as users get it (tests/package/): `uv build`, the wheel installed with the locked
# dependencies outside the checkout, the pre-commit hook installed by pre-commit, the GitHub Action.
test-package: install
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -m package tests/package

# The Ray Data integration, in an environment of its own with the ray extra (Ray in local mode).
$(RAY_STAMP): requirements-ray.lock pyproject.toml
	@if [ -z "$(UV)" ]; then $(PYTHON) -m pip install --quiet uv; fi
	@UV=$$(command -v uv || echo "$(PYTHON) -m uv"); \
	  [ -x $(RAY_VENV)/bin/python ] || $$UV venv --quiet --python $(PYTHON) $(RAY_VENV); \
	  $$UV pip sync --quiet --compile-bytecode --python $(RAY_VENV)/bin/python requirements-ray.lock && \
	  $$UV pip install --quiet --python $(RAY_VENV)/bin/python --no-deps -e .
	@touch $@

test-ray: $(RAY_STAMP)
	$(RAY_VENV)/bin/python -m pytest -p no:cacheprovider tests/ray_data

# The upload tests against the real Docent server (../shared/docent-server), started in a
# temporary state folder and stopped after; skipped when that folder is absent. The Ray
# datasink's test there runs in the Ray environment.
test-server: install $(RAY_STAMP)
	scripts/test-server.sh

# The HTML reports, and Docent's own web page (../shared/docent-server: the server and the page
# started, one run of each kind uploaded and read there), in a real browser: Debian's Chromium
# (installed when missing), driven by Playwright (from the locks); make test skips these tests
# where Chromium or the page is absent.
test-ui: install
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(BIN)/python -m pytest -p no:cacheprovider tests/reports/test_reports_in_a_browser.py
	scripts/test-page.sh

demo: install
	$(BIN)/nemogym-docent convert examples/rollouts.jsonl -o examples/agent_runs.jsonl

# Every benchmarks/*.py in a fresh process, against Docent's converter in the same run.
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(RAY_VENV) .pytest_cache .mypy_cache .ruff_cache

# Opt-in soak: the property and fuzz tests with SOAK times more examples, freshly random.
SOAK ?= 20
SOAK_TESTS := tests/oracle/test_property_parity.py tests/validation/test_property_schema_agreement.py \
	tests/oracle/test_fuzz_json_lines.py tests/mapping/test_nothing_lost.py
.PHONY: soak
soak: install
	NEMOGYM_DOCENT_SOAK=$(SOAK) $(BIN)/python -m pytest -n 2 -p no:cacheprovider \
	  --hypothesis-show-statistics $(SOAK_TESTS)
