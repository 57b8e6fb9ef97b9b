# The README's two commands: `make run` and `make test`. Both set everything up first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
SYSTEM_PACKAGES := libmariadb-dev pkg-config mariadb-server mariadb-client chromium chromium-driver \
	graphviz shellcheck curl wrk
# pip on some machines warns about every configured local index it cannot read; hide only that.
QUIET_PIP := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: run test bench setup system-packages lint clean

system-packages:
	@tools/system-packages.sh $(SYSTEM_PACKAGES)

# The venv is rebuilt only when the dependencies change, so a second run skips it.
$(VENV)/.installed: setup.cfg pyproject.toml | system-packages
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "error: Python 3.11+ is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@echo "Setting up $(VENV) (first run only)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip 2>&1 | $(QUIET_PIP)
	@$(PY) -m pip install -q -e '.[test,lint,bench,deploy]' 2>&1 | $(QUIET_PIP)
	@touch $@

# checkov pins its own boto3 and friends: it lives in a venv of its own so that it never
# drags the app's dependencies.
$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt
	@echo "Setting up $(CHECKOV_VENV) (first run only)"
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install -q -r tools/checkov-requirements.txt 2>&1 | $(QUIET_PIP)
	@touch $@

setup: system-packages $(VENV)/.installed $(CHECKOV_VENV)/.installed

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The whole suite on the MariaDB pair and the local AWS API (started and stopped by the tests),
# then the site's tests again on the embedded SQLite default.
test: lint
	$(PY) -m infra build --check
	$(PY) -m infra lint
	$(VENV)/bin/pytest
	TEST_DB=sqlite $(VENV)/bin/pytest tests/site

# The templates built and linted, then the site on the embedded default: one SQLite file for both
# aliases, a demo superuser, a few hundred employees.
run: setup
	$(PY) -m infra build
	$(PY) -m infra lint
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_superuser
	$(PY) manage.py seed_employees --count 300 --seed 1 --if-empty
	@echo "Serving http://127.0.0.1:8000/ (admin at /admin/, user admin); Ctrl-C stops it."
	$(PY) manage.py runserver 127.0.0.1:8000

# Benchmarks on their own MariaDB pair (23306/23307), a million rows loaded once and kept; writes
# bench-results.json and BENCHMARKS.md. BENCH_ARGS, e.g. --commit HEAD (a clean export), --fresh.
bench: setup
	$(PY) -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build *.egg-info
