# Switchboard: two commands for a newcomer.
#   make run    the whole platform on 127.0.0.1 (moto as AWS, real handlers, no AWS account)
#   make test   lint, unit, integration (moto), infra (synth + assertions + cdk-nag), e2e
# Each target creates .venv and installs what is missing by itself.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

ONBOARDING_TEMPLATE ?= build/kustomer-data-stream.template.json
ONBOARDING_OUT := build/cdk.out.onboarding

.PHONY: run test lint unit integration infra e2e fuzz synth onboarding-template bench deploy format clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: $(STAMP)
	$(PY) -m emulator $(ARGS)

# The fast checks first; then the three slow suites share the two cores (integration is moto in
# this process, e2e mostly waits on a local run), each suite's output kept together.
test: lint unit
	$(MAKE) --no-print-directory -j2 --output-sync=target integration infra e2e

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP)
	$(PY) -m pytest tests/integration -q

infra: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest tests/infra -q
	npx --no-install cdk synth --all --quiet > /dev/null

# e2e includes the API fuzzer (tests/e2e/test_api_fuzz.py) with a fixed seed and few examples.
e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q

# The API fuzzer alone, longer:  make fuzz FUZZ_EXAMPLES=500 [FUZZ_SEED=7] [FUZZ_MAX_TIME=3600]
FUZZ_EXAMPLES ?= 5
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),FUZZ_SEED=$(FUZZ_SEED)) \
		$(if $(FUZZ_MAX_TIME),FUZZ_MAX_TIME=$(FUZZ_MAX_TIME)) \
		$(PY) -m pytest tests/e2e/test_api_fuzz.py -q

synth: $(STAMP) $(NODE_STAMP)
	npx --no-install cdk synth Switchboard

# The platform only: DataStreamOnboarding is deployed by each customer, from its template.
deploy: $(STAMP) $(NODE_STAMP)
	npx --no-install cdk deploy Switchboard --require-approval broadening

# The customer-side template (stack DataStreamOnboarding: kustomer-data-stream,
# KustomerDataStreamRole, the sample consumer, alarms) as plain CloudFormation JSON, for the
# console's "Create stack > With new resources". Offline; no bootstrap parameter, no assets.
#   make onboarding-template PLATFORM_ACCOUNT=123456789012   KustomerAccountId default
#   make onboarding-template ONBOARDING_TEMPLATE=path.json    another output file
onboarding-template: $(STAMP) $(NODE_STAMP)
	@mkdir -p $(dir $(ONBOARDING_TEMPLATE))
	npx --no-install cdk synth DataStreamOnboarding --exclusively --quiet --output $(ONBOARDING_OUT) \
		--path-metadata false --version-reporting false --asset-metadata false \
		$(if $(PLATFORM_ACCOUNT),--context switchboard:platformAccountId=$(PLATFORM_ACCOUNT))
	cp $(ONBOARDING_OUT)/DataStreamOnboarding.template.json $(ONBOARDING_TEMPLATE)
	@echo "wrote $(ONBOARDING_TEMPLATE)"

bench: $(STAMP)
	$(PY) -m bench

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) node_modules cdk.out .switchboard .pytest_cache .ruff_cache
