# Digituki — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    := data/providers/demo.csv
PYTEST  := $(BIN)/pytest
AXE     := tests/e2e/node_modules/axe-core/axe.min.js

# A working Python 3.10 (Rasa 3.6 needs it): $PYTHON, python3.10 if it runs, pyenv's 3.10.x.
PYTHON_310 := $(shell \
  for c in "$$PYTHON" python3.10 $$(ls -d $$HOME/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do \
    [ -n "$$c" ] && "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1 && { echo "$$c"; break; }; \
  done)

.PHONY: help install k8s-tools test-containers db demo run run-prod train validate evaluate chat test test-unit test-integration test-e2e browser-tools lint format bench image compose-up compose-down clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON_310)" ]; then \
	  echo "Python 3.10 not found (Rasa 3.6 needs it). Install it, e.g. 'pyenv install 3.10.13',"; \
	  echo "or point to it: make PYTHON=/path/to/python3.10 $(MAKECMDGOALS)"; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON_310) (first time: a few minutes, ~3 GB)"
	@[ -x $(BIN)/python ] || $(PYTHON_310) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv (Python 3.10) and install the project with its dev tools

# kubernetes-validate in an environment of its own: the releases with current Kubernetes
# schemas need a jsonschema newer than Rasa 3.6 allows.
K8S_TOOLS := $(VENV)/k8s/bin/kubernetes-validate
$(K8S_TOOLS): $(STAMP)
	@rm -rf $(VENV)/k8s
	$(BIN)/python -m venv $(VENV)/k8s
	$(VENV)/k8s/bin/pip install --quiet 'kubernetes-validate==1.31.0'

k8s-tools: $(K8S_TOOLS) ## kubernetes-validate for the manifests' tests (own environment)

db: $(STAMP) ## create or migrate the database and load the gazetteer
	$(BIN)/digituki db upgrade

demo: db ## import the demo providers (idempotent)
	$(BIN)/digituki providers import --quiet --source demo $(DEMO)

run: demo ## set everything up on SQLite, train if needed, start all services
	@$(BIN)/python -m bot.ops.run

run-prod: $(STAMP) ## the production profile on this machine's PostgreSQL, Redis and RabbitMQ (README)
	@DIGITUKI_DATABASE_URL="$${DIGITUKI_DATABASE_URL:-postgresql+psycopg2://root@127.0.0.1:5432/digituki}" \
	 DIGITUKI_REDIS_URL="$${DIGITUKI_REDIS_URL:-redis://127.0.0.1:6379/0}" \
	 DIGITUKI_RABBITMQ_URL="$${DIGITUKI_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/}" \
	 DIGITUKI_LOG_FORMAT="$${DIGITUKI_LOG_FORMAT:-json}" \
	 $(BIN)/python -m bot.ops.run --profile production --prepare

train: $(STAMP) ## train the model if the data or configuration changed
	$(BIN)/python -c 'from bot.training import ensure_model; print(ensure_model())'

validate: $(STAMP) ## check the training data and domain (rasa data validate)
	$(BIN)/python -c 'import sys; from bot.training import validate_data; p = validate_data(); print(*p, sep="\n"); sys.exit(bool(p))'

evaluate: $(STAMP) ## held-out NLU report per language (trains first if needed)
	$(BIN)/python -m bot.nlu.evaluate

chat: $(STAMP) ## talk to the running assistant in the terminal
	@$(BIN)/python -m bot.ops.chat

test: $(STAMP) $(K8S_TOOLS) browser-tools ## run the whole test suite (unit, integration, e2e)
	$(PYTEST) tests

test-containers: $(STAMP) $(K8S_TOOLS) ## CI: build the image with podman (deploy/ci), test it, the Compose stack and the Kubernetes dev overlay
	bash deploy/ci/build-image.sh digituki:ci
	bash deploy/ci/service-images.sh
	DIGITUKI_IMAGE=localhost/digituki:ci $(PYTEST) tests/e2e/test_image.py tests/e2e/test_compose.py tests/e2e/test_kube_play.py

test-unit: $(STAMP) $(K8S_TOOLS) ## fast tests without databases or servers
	$(PYTEST) tests/unit

test-integration: $(STAMP) ## tests against SQLite and the PostgreSQL server
	$(PYTEST) tests/integration

test-e2e: $(STAMP) browser-tools ## tests that start the services
	$(PYTEST) tests/e2e

browser-tools: ## axe-core for the accessibility tests (npm; skipped with a note without npm)
	@if [ -f $(AXE) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then cd tests/e2e && npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility tests will be skipped (install Node.js and npm)"; fi

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## print figures: search latency, training, NLU, conversation load vs a bare bot, handoff delivery, two replicas vs one
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.conversations
	$(BIN)/python -m bench.handoff
	$(BIN)/python -m bench.replicas

CONTAINER ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
image: ## build the container image (podman or docker; the model of ./models is reused when current)
	$(CONTAINER) build -f Containerfile -t digituki:latest \
	  --build-arg MODEL_FINGERPRINT=$$($(BIN)/python -c 'from bot.training import fingerprint; print(fingerprint())' 2>/dev/null || echo unknown) .

# Docker Compose, else podman-compose (which ignores the file's `name:`, hence -p).
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo "podman-compose -p digituki")
compose-up: ## start the Compose deployment (deploy/compose.yaml; fill in deploy/.env first, docs/deploy.md)
	@[ -f deploy/.env ] || { echo "deploy/.env is missing: cp deploy/.env.example deploy/.env and fill in the secrets"; exit 1; }
	$(COMPOSE) -f deploy/compose.yaml up -d

compose-down: ## stop the Compose deployment (its data volumes stay)
	$(COMPOSE) -f deploy/compose.yaml down

clean: ## remove caches and the local SQLite database (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache digituki.db digituki.db-wal digituki.db-shm
