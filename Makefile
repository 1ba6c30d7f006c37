# Wasl: one entry point for set-up, running and checking.
#   make run     install, migrate, seed the demo, serve on http://$(HOST):$(PORT) with a worker
#   make stop    stop what `make run` started (from another terminal, or after it was killed)
#   make test    the whole suite, on SQLite and on a throw-away PostgreSQL
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ENV := WASL_DEMO=true WASL_PUBLIC_URL=$${WASL_PUBLIC_URL:-http://$(HOST):$(PORT)}

.PHONY: run stop test install install-dev lint typecheck bench worker migrate seed messages check clean

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
