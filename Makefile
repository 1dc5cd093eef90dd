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

.PHONY: run test lint format build deploy sam events bench clean venv openapi fuzz conformance browser

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

## Lint, template checks (cfn-lint, and `sam validate --lint` with the SAM CLI `make sam` installs when
## missing) and the whole test suite (first: Debian's Chromium for tests/browser, see `browser`).
test: $(STAMP) browser sam
	@$(BIN)/python -c 'import platform, sys; print(f"make test: Python {platform.python_version()} ({sys.executable})")'
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else "make test: not Python 3.13, the Lambda runtime (install it, e.g. pyenv install 3.13); CI=true requires it")' \
		|| [ "$$CI" != true ]
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(SAM_ENV) $(SAM) validate --lint
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

## The OpenAPI document against the code at a larger figure (docs/api.md): schemathesis over every
## operation against the local gateway, 100 generated requests per operation besides its examples
## (make test: 3), each answer checked for status code, content type and schema conformance (~5 min).
conformance: $(STAMP)
	OPENAPI_CONFORMANCE_EXAMPLES=100 $(BIN)/python -m pytest tests/e2e/test_openapi_conformance.py -p no:xdist -p no:cacheprovider -q -s -k every_operation

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The deployable bundle, without Docker: `make sam && make build`, then `make deploy` (or `sam deploy
## --guided`). layers/common/Makefile builds the layer from aarch64 wheels for python3.13 and ships its
## bytecode. Before anything is built, `build` checks what it needs and stops with what to do: the SAM CLI
## (`make sam`: a private copy in .venv/sam-cli; or `sam` on PATH; SAM=/path/to/sam), Python 3.13 with pip
## (python3.13 on PATH or pyenv's 3.13, put first on PATH for `sam build`; PY313=/path/to/python3.13) and
## the package index the wheels come from (CHECK_INDEX=0 skips that check). It builds into
## $(BUILD_DIR).next and replaces $(BUILD_DIR) only when `sam build` succeeded: a failed build keeps the
## previous one. $(BUILD_DIR) is where `sam deploy`, `sam package` and `sam local` look by default.
SAM ?= $(if $(wildcard $(VENV)/sam-cli/bin/sam),$(VENV)/sam-cli/bin/sam,sam)
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}}
BUILD_DIR ?= .aws-sam/build
CHECK_INDEX ?= 1
# pyenv's 3.13 (or PY313=...) goes first on PATH for sam build; a python3.13 already on PATH is left as it is.
PY313_BIN = $(if $(PY313),$(if $(filter $(PY313),$(shell command -v python3.13 2>/dev/null)),,$(patsubst %/,%,$(dir $(PY313)))))
SAM_PATH = PATH="$(if $(PY313_BIN),$(PY313_BIN):)$$PATH"
build:
	@command -v $(SAM) >/dev/null 2>&1 || { echo "make build: the SAM CLI ($(SAM)) is not installed: run \`make sam\` first (installs it into $(VENV)/sam-cli), or set SAM=/path/to/sam" >&2; exit 1; }
	@test -n "$(PY313)" || { echo "make build: Python 3.13 (the Lambda runtime) is not found: sam build needs python3.13 to build the layer and functions. Install it (e.g. pyenv install 3.13, or your system's python3.13 package) so that python3.13 is on PATH or pyenv has 3.13, or set PY313=/path/to/python3.13" >&2; exit 1; }
	@$(PY313) -m pip --version >/dev/null 2>&1 || { echo "make build: $(PY313) has no pip: the layer's wheels are installed with it (python3.13 -m ensurepip, or your system's python3-pip package)" >&2; exit 1; }
	@if [ "$(CHECK_INDEX)" != 0 ]; then index="$${PIP_INDEX_URL:-$$($(PY313) -m pip config get global.index-url 2>/dev/null || true)}"; index="$${index:-https://pypi.org/simple/}"; \
		$(PY313) -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip("/") + "/pip/", timeout=10)' "$$index" >/dev/null 2>&1 \
		|| { echo "make build: the package index $$index does not answer: the layer's aarch64 wheels are downloaded from it (set PIP_INDEX_URL to a reachable index, or CHECK_INDEX=0 to skip this check)" >&2; exit 1; }; fi
	$(SAM_PATH) $(SAM_ENV) $(SAM) validate --lint
	rm -rf "$(BUILD_DIR).next"
	@$(SAM_PATH) $(SAM_ENV) $(SAM) build --build-dir "$(BUILD_DIR).next" \
		|| { rm -rf "$(BUILD_DIR).next"; echo "make build: sam build failed (see above); $(BUILD_DIR) is left as it was" >&2; exit 1; }
	@rm -rf "$(BUILD_DIR).old"; if [ -e "$(BUILD_DIR)" ]; then mv "$(BUILD_DIR)" "$(BUILD_DIR).old"; fi; \
		mv "$(BUILD_DIR).next" "$(BUILD_DIR)" && rm -rf "$(BUILD_DIR).old"
	@echo "make build: built into $(BUILD_DIR) (sam deploy, sam package and sam local read it there). Next: make deploy"

## First deploy asks for stack name, region and Parameters, and saves them in samconfig.toml.
deploy: build
	$(SAM) deploy --guided

## SAM CLI in its own venv under .venv (it pins boto3, click and aws-sam-translator exactly and caps
## cfn-lint: in .venv it would downgrade the project's). Installed when missing, by `make test` too.
sam:
	@if [ ! -x $(VENV)/sam-cli/bin/sam ]; then \
		echo "make sam: installing the SAM CLI into $(VENV)/sam-cli (its own venv: pip install aws-sam-cli)"; \
		rm -rf $(VENV)/sam-cli; $(or $(PY313),$(PYTHON)) -m venv $(VENV)/sam-cli && \
		$(VENV)/sam-cli/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli \
		|| { rm -rf $(VENV)/sam-cli; echo "make sam: installing aws-sam-cli failed (see above)" >&2; exit 1; }; fi
	@SAM_CLI_TELEMETRY=0 $(VENV)/sam-cli/bin/sam --version

## Sample events for `sam local invoke -e`, live for the demo organisation of the running local gateway
## (`make run` in another terminal): .local/events/*.json and env.json (events/README.md).
events: $(STAMP)
	$(BIN)/python -m lti_gateway.local.sample_events --state-dir .local

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
