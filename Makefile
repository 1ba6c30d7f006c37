# Wasl: one entry point for set-up, running and checking.
#   make run     install, migrate, seed the demo, serve on http://$(HOST):$(PORT) with a worker
#   make stop    stop what `make run` started (from another terminal, or after it was killed)
#   make check   before each commit: ruff, then the fast lane of the suite on SQLite (not slow, not browser)
#   make test    everything: ruff, mypy, the whole suite on SQLite and on a throw-away PostgreSQL (as CI)
#   make install-production   a real installation, or its update: docs/install.md
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ENV := WASL_DEMO=true WASL_PUBLIC_URL=$${WASL_PUBLIC_URL:-http://$(HOST):$(PORT)}

.PHONY: run stop test install install-dev install-production lint typecheck bench worker migrate seed messages check clean

$(VENV)/bin/python:
	@python=$$(scripts/find-python) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# A production installation, or its update (docs/install.md): the runtime requirements, then
# `manage.py install` with the settings of $(ENV_FILE) (the services' EnvironmentFile) when it
# exists. Run it as the user the services run as. INSTALL_ARGS passes options to the command:
# INSTALL_ARGS="--no-input --admin-email it@commune.ma" (the password in WASL_ADMIN_PASSWORD).
ENV_FILE ?= /etc/wasl/wasl.env
install-production: install
	@if [ -e "$(ENV_FILE)" ]; then \
	  [ -r "$(ENV_FILE)" ] || { echo "$(ENV_FILE) cannot be read by $$(id -un): run this as the user the services run as (runuser -u wasl -- make install-production)." >&2; exit 1; }; \
	  echo "Settings from $(ENV_FILE)"; set -a; . "$(ENV_FILE)"; set +a; \
	fi; \
	exec $(PY) manage.py install $(INSTALL_ARGS)

migrate: install
	$(DEMO_ENV) $(PY) manage.py migrate --noinput

seed: migrate
	$(DEMO_ENV) $(PY) manage.py seed_demo

run: seed
	$(DEMO_ENV) $(PY) manage.py serve --host $(HOST) --port $(PORT)

stop: install
	$(DEMO_ENV) $(PY) manage.py serve --stop

worker: install
	$(DEMO_ENV) $(PY) manage.py run_worker

test: install-dev
	scripts/test

# The fast lane: what runs before every commit (README.md). mypy is `make typecheck`.
check: install-dev
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/ruff format --check --quiet .
	WASL_SKIP_LINT=1 WASL_TEST_DATABASES=sqlite scripts/test -m "not slow and not browser"

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy .

bench: install-dev
	scripts/bench

messages: install-dev
	$(DEMO_ENV) $(PY) manage.py makemessages --all --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	$(PY) scripts/compile-messages

clean:
	rm -rf var/
