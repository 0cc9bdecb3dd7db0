# VisionEra: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2
WEB_THREADS ?= 4

# `make run` serves plain HTTP: on a loopback HOST it tells Django so (cookies without Secure).
LOOPBACK_HOST := $(filter 127.0.0.1 localhost ::1,$(HOST))

.PHONY: install migrate run local-secret serve worker test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

define migrate-steps
$(BIN)/python manage.py migrate --noinput
$(BIN)/python manage.py collectstatic --noinput --verbosity 0
endef

migrate: install
	$(migrate-steps)

# A random SECRET_KEY in the git-ignored .env on first run (kept afterwards), migrate (plans
# are seeded by a migration), print a demo key, serve on $(HOST):$(PORT). Mail (sign-up and
# password-reset links) is printed in this terminal unless EMAIL_URL names a server.
run: export EMAIL_URL ?= consolemail://
run: install local-secret
	$(migrate-steps)
ifneq ($(LOOPBACK_HOST),)
	@echo "Plain HTTP on loopback ($(HOST)): session and CSRF cookies are sent without Secure."
	$(BIN)/python manage.py demo_account --url http://$(HOST):$(PORT)
	SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false \
		$(BIN)/python manage.py runserver $(HOST):$(PORT)
else
	$(BIN)/python manage.py demo_account --url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)
endif

# With DEBUG off the settings refuse to start without a real SECRET_KEY (docs/HARDENING.md).
local-secret:
	@if [ -z "$$SECRET_KEY" ] && ! grep -qs '^SECRET_KEY=' .env; then \
		if [ -s .env ] && [ -n "$$(tail -c1 .env)" ]; then echo >> .env; fi; \
		(umask 077; printf 'SECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" >> .env); \
		echo "Wrote a random SECRET_KEY to .env (git-ignored); it is kept for the next runs."; \
	fi

# The production web server: gunicorn, static files from WhiteNoise. It does not migrate:
# that is once per release (`make migrate`), and two hosts starting at once would race.
serve: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/gunicorn visionera.wsgi -c python:visionera.gunicorn_config --bind $(HOST):$(PORT) \
		--workers $(WEB_WORKERS) --threads $(WEB_THREADS) --timeout 120 --access-logfile -

# A Dramatiq worker process; needs DRAMATIQ_BROKER_URL (e.g. redis://127.0.0.1:6379/2).
worker: install
	@test -n "$$DRAMATIQ_BROKER_URL" || { echo "Set DRAMATIQ_BROKER_URL (without it, 'make run' runs jobs in-process)"; exit 2; }
	$(BIN)/python manage.py rundramatiq --processes 1 --threads 2

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/faces.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/objects.py
	$(BIN)/python bench/video.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
