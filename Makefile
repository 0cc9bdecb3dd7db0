# VisionEra: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2
WEB_THREADS ?= 4

.PHONY: install migrate run serve worker test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

# Migrate (plans are seeded by a migration), print a demo key, serve on 127.0.0.1:8000.
run: migrate
	$(BIN)/python manage.py demo_account
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production web server: gunicorn, static files from WhiteNoise.
serve: migrate
	$(BIN)/gunicorn visionera.wsgi --bind $(HOST):$(PORT) --workers $(WEB_WORKERS) \
		--threads $(WEB_THREADS) --timeout 120 --access-logfile -

# A Dramatiq worker process; needs DRAMATIQ_BROKER_URL (e.g. redis://127.0.0.1:6379/2).
worker: install
	@test -n "$$DRAMATIQ_BROKER_URL" || { echo "Set DRAMATIQ_BROKER_URL (without it, 'make run' runs jobs in-process)"; exit 2; }
	$(BIN)/python manage.py rundramatiq --processes 1 --threads 2

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/faces.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/objects.py
	$(BIN)/python bench/video.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
