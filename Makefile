# LTI Gateway — the words a reviewer expects: run, test, lint, format, build, deploy, bench.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The functions run on Python 3.13 (the Lambda runtime), so .venv is made with it when this machine has
# it: python3.13 on PATH, else pyenv's 3.13; otherwise python3 (3.11 or newer). PYTHON=... picks another.
# A .venv of another Python is made again (the stamp names the version).
PY313 := $(shell if python3.13 -c '' >/dev/null 2>&1; then command -v python3.13; \
	else p=$$(pyenv prefix 3.13 2>/dev/null) && test -x "$$p/bin/python3.13" && echo "$$p/bin/python3.13"; fi)
PYTHON ?= $(or $(PY313),python3)
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
STAMP := $(VENV)/.installed-python$(PYTHON_VERSION)
PORT ?= 3000

.PHONY: run test lint format build deploy sam bench clean venv openapi fuzz browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (set PYTHON=python3.11)")'
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYTHON_VERSION)" ]; then \
		echo "$(VENV) is $$($(BIN)/python -V 2>&1), not Python $(PYTHON_VERSION) ($(PYTHON)): making it again"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Start the whole gateway locally on 127.0.0.1:$(PORT) (moto server for DynamoDB and KMS); its state is
## kept in .local/ across restarts, `make run FRESH=1` starts empty (and replaces it).
run: $(STAMP)
	$(BIN)/python -m lti_gateway.local --port $(PORT)$(if $(filter 1 true yes,$(FRESH)), --fresh,)

## Lint, template checks and the whole test suite (first: Debian's Chromium for tests/browser, see `browser`).
test: $(STAMP) browser
	@$(BIN)/python -c 'import platform, sys; print(f"make test: Python {platform.python_version()} ({sys.executable})")'
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else "make test: not Python 3.13, the Lambda runtime (install it, e.g. pyenv install 3.13); CI=true requires it")' \
		|| [ "$$CI" != true ]
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest -n 2

## The browser tests (tests/browser) drive Debian's Chromium through Playwright, never a browser
## Playwright downloads (`playwright install` is not used). `make browser` makes sure $(CHROMIUM) exists:
## if not, as root (or with password-less sudo) and with apt-get, it installs Debian's `chromium`
## package; otherwise it says what to install and goes on: tests/browser then skip, except under CI=true
## where they fail. CHROMIUM=/path/to/chromium uses another Chromium.
CHROMIUM ?= $(or $(wildcard /usr/bin/chromium),$(shell command -v chromium 2>/dev/null),/usr/bin/chromium)
APT_GET ?= apt-get
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi; \
	if [ "$$sudo" != none ] && command -v $(firstword $(APT_GET)) >/dev/null 2>&1; then \
		echo "make browser: no Chromium at $(CHROMIUM); installing Debian's chromium package for tests/browser:"; \
		echo "  $${sudo:+$$sudo }$(APT_GET) update && $${sudo:+$$sudo }$(APT_GET) install -y --no-install-recommends chromium"; \
		$$sudo $(APT_GET) update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq --no-install-recommends chromium \
			|| echo "make browser: installing chromium failed (see above)" >&2; \
	fi; \
	if [ ! -x "$(CHROMIUM)" ]; then \
		echo "make browser: no Chromium at $(CHROMIUM). Install Debian's package (sudo apt-get install chromium)" >&2; \
		echo "  or set CHROMIUM=/path/to/chromium. tests/browser are skipped (under CI=true they fail)." >&2; \
	fi

## The fuzz suite at its full figure (docs/security.md): 1,000 examples per operation over HTTP, both
## schemathesis's and the hostile-input property's, each operation from the same fresh stored state;
## 1,000 per in-process target. One process, one core (~80 min); reports in pytest's base temp directory.
fuzz: $(STAMP)
	FUZZ_API_EXAMPLES=1000 FUZZ_HOSTILE_EXAMPLES=1000 FUZZ_CONSOLE_EXAMPLES=1000 $(BIN)/python -m pytest tests/fuzz -p no:xdist -p no:cacheprovider -s -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The deployable bundle, without Docker: `sam build` (layers/common/Makefile builds the layer from
## aarch64 wheels for python3.13 and ships its bytecode). Needs the SAM CLI (`pip install aws-sam-cli`,
## or `make sam` for a private copy) and python3.13: on PATH, else pyenv's 3.13 is put first on PATH.
SAM ?= $(if $(wildcard $(VENV)/sam-cli/bin/sam),$(VENV)/sam-cli/bin/sam,sam)
PY313_PREFIX = $(shell python3.13 -V >/dev/null 2>&1 || pyenv prefix 3.13 2>/dev/null)
build:
	@command -v $(SAM) >/dev/null 2>&1 || { echo "SAM CLI not found: pip install aws-sam-cli (or: make sam)" >&2; exit 1; }
	PATH="$(if $(PY313_PREFIX),$(PY313_PREFIX)/bin:)$$PATH" $(SAM) validate --lint
	PATH="$(if $(PY313_PREFIX),$(PY313_PREFIX)/bin:)$$PATH" $(SAM) build

## First deploy asks for stack name, region and Parameters, and saves them in samconfig.toml.
deploy: build
	$(SAM) deploy --guided

## SAM CLI in its own venv under .venv: it pins boto3, click and aws-sam-translator exactly and caps cfn-lint.
sam:
	test -x $(VENV)/sam-cli/bin/sam || { $(PYTHON) -m venv $(VENV)/sam-cli && \
		$(VENV)/sam-cli/bin/python -m pip install --quiet aws-sam-cli; }
	$(VENV)/sam-cli/bin/sam --version

## The OpenAPI document served at GET /api/openapi.json, generated from template.yaml and the handlers
## (tests/infrastructure/test_openapi.py fails when it is out of date).
openapi: $(STAMP)
	$(BIN)/python -m lti_gateway.local.openapi

## Every figure of docs/performance.md, each against a baseline timed in the same run, and the Python it
## ran on (~10 minutes: cold starts over 15 interpreter pairs per handler, launches end to end over HTTP,
## 10,000 units through the local gateway; `$(BIN)/python -m benchmarks --quick` runs each once, for CI;
## `--only SECTION ...` some of them). The hard gates are tests/performance.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .aws-sam .local .pytest_cache .ruff_cache .artifacts
