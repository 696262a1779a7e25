# Nordvik support: `make run` and `make test` set up whatever is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
# pytest-xdist, one worker per core; a test file (or package, tests/conftest.py) per worker
PYTEST_EVERY_CORE := $(PY) -m pytest -n auto --dist loadgroup --no-loadscope-reorder
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup setup-web setup-browser run test test-fast lint typecheck seed migrate train kb-build \
        report demo-data settings \
        bench-chat bench-kb bench-nlu bench-slack bench-mail profile-turn web clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## Create .venv (Python 3.10) from requirements/lock.txt if missing or stale
	@scripts/setup.sh

setup-web: ## Install the chat widget bundle (npm) and HAProxy that make run needs, if missing
	@[ ! -x scripts/setup_web.sh ] || scripts/setup_web.sh

setup-browser: ## Install Chromium and a Chinese font for the browser tests (make test only), if missing
	@[ ! -x scripts/setup_browser.sh ] || scripts/setup_browser.sh

run: setup setup-web ## Set up what is missing, then run the whole system on embedded defaults
	@$(PY) -m scripts.run_all

test: setup setup-web setup-browser ## Set up what is missing, then run the whole test suite on every core
	@$(PYTEST_EVERY_CORE)

test-fast: setup ## Run the tests that start no servers and train no models, on every core
	@$(PYTEST_EVERY_CORE) -m "not integration and not browser and not slow"

lint: setup ## ruff (lint), import-linter (layers) and mypy (types)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/lint-imports
	@$(VENV)/bin/mypy actions bot kb_index store nlu web scripts runtime analytics dashboard mail rasa_addons nordvik message_catalogue handoff voice messaging customer_data

typecheck: setup ## mypy on the project's packages
	@$(VENV)/bin/mypy actions bot kb_index store nlu web scripts runtime analytics dashboard mail rasa_addons nordvik message_catalogue handoff voice messaging customer_data

migrate: setup ## Upgrade the order/CRM store schema in place
	@$(PY) -m store.cli migrate

seed: setup ## Create, migrate and seed the order/CRM store if it is empty
	@$(PY) -m store.cli seed

train: setup ## Train the Rasa model when training data or config changed
	@$(PY) -m scripts.train

kb-build: setup ## Build the knowledge index (a new version, moved live when verified)
	@$(VENV)/bin/kb build

bench-chat: setup setup-web ## Capacity with think time (50-500 customers): this tree, the tree before the runtime work, plain rasa init; CLOSED=1: no think time (1, 10, 50 customers), make run's layout against plain rasa init
	@$(PY) -m bench.chat_latency $(if $(CLOSED),--closed-loop)

profile-turn: setup ## Profile one customer turn end to end (pyinstrument), before and after: reports/turn_profile_*.txt
	@$(PY) -m bench.turn_profile

bench-kb: setup ## Knowledge index: quality (shipped set, SweFAQ), latency, ANN recall, build and update
	@$(PY) -m bench.kb_bench

bench-nlu: setup ## NLU pipelines on Banking77 and CLINC150
	@$(PY) -m bench.nlu_benchmark

bench-slack: setup ## Slack app: request to ack and request to suggestions posted
	@$(PY) -m bench.slack_latency

bench-mail: setup ## E-mail channel: receiver's 250 OK to the reply at an SMTP sink (status, FAQ, handoff)
	@$(PY) -m bench.mail_latency

report: setup ## reports/kpi.md with PNG plots (FROM=2026-11-01 TO=2026-11-30; default: last 30 days)
	@$(PY) -m analytics.report $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

demo-data: setup ## Demo conversations in four languages through the running bot's REST channel
	@$(PY) -m analytics.demo

settings: setup ## Every environment variable: name, type, default, services, help (docs/SETTINGS.md)
	@$(PY) -m nordvik.variables.table

clean: ## Remove generated state (var/, models/); keeps .venv
	rm -rf var models .pytest_cache .mypy_cache .ruff_cache
