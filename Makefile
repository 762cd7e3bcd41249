# QERS: every target installs what it needs into .venv first (from nothing).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
FUZZ_PORT ?= 8765
# The contract linters (npm packages pinned by contracts/lint/package-lock.json).
LINT_DIR := contracts/lint
LINT_BIN := $(LINT_DIR)/node_modules/.bin
LINT_STAMP := $(LINT_DIR)/node_modules/.installed

.PHONY: install browser generate check-generated lint lint-contract typecheck test serve fuzz bench check clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium through Playwright (no browser download): install
# it when it is missing (needs root or sudo; about 500 MB).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

generate: $(STAMP)
	$(PY) -m codegen generate

check-generated: $(STAMP)
	$(PY) -m codegen check

lint: $(STAMP)
	$(VENV)/bin/ruff check codegen handlers simengine tests bench
	$(VENV)/bin/ruff format --check codegen handlers simengine tests bench

# npm ci installs exactly the lock file's versions; install scripts are not run (the
# linters need none).
$(LINT_STAMP): $(LINT_DIR)/package.json $(LINT_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: npm not found (install Node.js and npm)"; exit 1; }
	npm ci --prefix $(LINT_DIR) --ignore-scripts --no-audit --no-fund
	touch $(LINT_STAMP)

# Spectral (spectral:oas + OWASP) and Redocly (recommended) on the document the app serves;
# any error fails, warnings are listed and counted. Both run even if the first fails.
lint-contract: $(STAMP) $(LINT_STAMP)
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	$(PY) -m tests.contract.published "$$out/openapi.json" && \
	export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true && rc=0 && \
	echo "spectral (spectral:oas + OWASP API Security Top 10):" && \
	{ $(LINT_BIN)/spectral lint --ruleset $(LINT_DIR)/.spectral.yaml --fail-severity error \
	    "$$out/openapi.json" || rc=1; } && \
	echo "redocly (recommended):" && \
	{ $(LINT_BIN)/redocly lint --config $(LINT_DIR)/redocly.yaml --format stylish \
	    "$$out/openapi.json" || rc=1; } && \
	exit $$rc

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# pytest exits 5 when it collects no tests: reported, not treated as a failure.
test: $(STAMP) browser
	$(PY) -m pytest -q || { rc=$$?; [ $$rc -eq 5 ] && echo 'pytest: no tests collected (exit 5)' || exit $$rc; }

serve: $(STAMP)
	$(VENV)/bin/uvicorn --factory handlers.app:create_app --host $(HOST) --port $(PORT)

# Both job backends: embedded, then queued (Redis DB 15 of QERS_TEST_REDIS_URL + a worker).
fuzz: $(STAMP)
	$(PY) -m tests.contract.fuzz --port $(FUZZ_PORT) --mode embedded
	$(PY) -m tests.contract.fuzz --port $(FUZZ_PORT) --mode queued

bench: $(STAMP) browser
	$(PY) -m bench

check: lint lint-contract typecheck check-generated test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
