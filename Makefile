# The two commands: `make run` serves the app with demo data and runs a job worker beside it
# (the planner, the monthly PDF and exports run there); `make test` checks the types, then
# runs the whole suite.
# Each sets up what it needs first (virtual environment, packages, translations, database).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
MO     := office/translations/ko/LC_MESSAGES/messages.mo
PO     := office/translations/ko/LC_MESSAGES/messages.po

.PHONY: run test typecheck install install-dev lint messages vendor clean

# Unless a key is given, `make run` signs the ledger's checkpoints with a development key that
# it generates once under instance/ (production keeps its key elsewhere: README, Security).
DEV_LEDGER_KEY := $(CURDIR)/instance/ledger-signing-key.pem
ifeq ($(OFFICE_LEDGER_KEY_FILE)$(OFFICE_LEDGER_KEY),)
run: export OFFICE_LEDGER_KEY_FILE = $(DEV_LEDGER_KEY)
run: DEV_KEYGEN = test -f $(DEV_LEDGER_KEY) || OFFICE_LEDGER_KEY_FILE= $(FLASK) ledger keygen $(DEV_LEDGER_KEY)
endif

run: install $(MO)
	$(DEV_KEYGEN)
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	@echo "Serving http://$(HOST):$(PORT)/ with a job worker beside it (Ctrl-C stops both)"
	@$(FLASK) jobs worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# The suite runs on every core (pytest-xdist); PYTEST_ARGS="-n 0 ..." runs it in one process.
PYTEST_ARGS ?= -n auto --dist loadgroup

test: typecheck $(MO)
	$(BIN)/pytest $(PYTEST_ARGS)

# mypy, configured in pyproject.toml ([tool.mypy]): office/ is fully typed.
typecheck: install-dev
	$(BIN)/mypy

lint: install-dev
	$(BIN)/ruff check office tests bench migrations app.py
	$(BIN)/ruff format --check office tests bench app.py migrations/env.py

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s); run make PYTHON=python3.11" % sys.version.split()[0] if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

$(MO): $(PO) | $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d office/translations --statistics

# For developers: gather new strings from the code into the catalogue, then translate them.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _ln:1,2 -k lazy_ngettext:1,2 --no-location --sort-by-file -o /tmp/office-messages.pot .
	$(BIN)/pybabel update -i /tmp/office-messages.pot -d office/translations --no-fuzzy-matching --ignore-obsolete

# For developers: refresh the vendored front-end files from npm (versions in static/vendor/package.json).
vendor:
	cd static/vendor && npm install --no-audit --no-fund --ignore-scripts
	cp static/vendor/node_modules/@picocss/pico/css/pico.min.css static/vendor/pico/
	cp static/vendor/node_modules/@picocss/pico/LICENSE.md static/vendor/pico/
	cp static/vendor/node_modules/pretendard/dist/public/static/Pretendard-Regular.otf \
	   static/vendor/node_modules/pretendard/dist/public/static/Pretendard-Bold.otf \
	   static/vendor/pretendard/
	cp static/vendor/node_modules/pretendard/dist/LICENSE.txt static/vendor/pretendard/
	cp static/vendor/node_modules/flatpickr/dist/flatpickr.min.js \
	   static/vendor/node_modules/flatpickr/dist/flatpickr.min.css \
	   static/vendor/node_modules/flatpickr/LICENSE.md static/vendor/flatpickr/
	cp static/vendor/node_modules/flatpickr/dist/l10n/ko.js static/vendor/flatpickr/
	rm -rf static/vendor/node_modules

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache test-artifacts $(MO)
