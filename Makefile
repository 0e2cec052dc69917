# caregov: `make run` sets everything up and serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# System packages WeasyPrint, the PDF checks and the browser tests need (Debian and Ubuntu names).
APT_PACKAGES := python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	poppler-utils chromium
PORT ?= 8000

.PHONY: help run test bootstrap system-packages migrate demo lint format check-deploy migrations-check bench clean

help:
	@echo "make run    set up, load the demo provider and serve http://127.0.0.1:$(PORT) with a worker and beat"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff, manage.py check and makemigrations --check"

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi; \
	  if [ "$$SUDO" = none ]; then echo "Please install:$$missing (needs root)"; \
	  else echo "Installing system packages:$$missing"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

.env:
	cp .env.example .env

bootstrap: system-packages $(STAMP) .env

migrate: bootstrap
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	@echo ""; echo "caregov is starting on http://127.0.0.1:$(PORT) (with a Celery worker and beat). Ctrl-C stops all three."
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) -m celery -A caregov worker --loglevel=WARNING --concurrency=2 & \
	$(PY) -m celery -A caregov beat --loglevel=WARNING & \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: bootstrap
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

migrations-check: bootstrap
	$(PY) manage.py makemigrations --check --dry-run

check-deploy: bootstrap
	DEBUG=false SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	ALLOWED_HOSTS=caregov.example.org $(PY) manage.py check --deploy --fail-level WARNING

format: bootstrap
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: bootstrap
	$(PY) -m bench

clean:
	rm -rf var staticfiles
