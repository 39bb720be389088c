# Emerald: `make run` serves the app in embedded mode; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test lint format worker beat migrate shell clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_superuser
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/daphne -b 127.0.0.1 -p 8000 erp.asgi:application

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

worker: $(STAMP)
	$(BIN)/celery -A erp worker --loglevel INFO

beat: $(STAMP)
	$(BIN)/celery -A erp beat --loglevel INFO --scheduler django_celery_beat.schedulers:DatabaseScheduler

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

shell: $(STAMP)
	$(BIN)/python manage.py shell

clean:
	rm -rf $(VENV) staticfiles
