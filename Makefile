# The README's two commands: `make run` and `make test`. Both set everything up first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
GUARD_DIR := .cfn-guard
PORT ?= 8000
# What the site needs to build its MySQL client; the rest only the tests and benchmarks use.
RUN_PACKAGES := libmariadb-dev pkg-config
TEST_PACKAGES := mariadb-server mariadb-client chromium chromium-driver graphviz shellcheck curl wrk
# pip's output goes to a log, shown only when the install fails: a first run prints a few lines,
# not setuptools' and pip's notices.
PIP_LOG = $(1)/pip.log
QUIET_PIP = > $(call PIP_LOG,$(1)) 2>&1 || { cat $(call PIP_LOG,$(1)); exit 1; }

.PHONY: run test bench setup run-packages system-packages lint clean

run-packages:
	@tools/system-packages.sh $(RUN_PACKAGES)

system-packages: run-packages
	@tools/system-packages.sh $(TEST_PACKAGES)

# The venv is rebuilt only when the dependencies change, so a second run skips it.
$(VENV)/.installed: setup.cfg pyproject.toml | run-packages
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "error: Python 3.11+ is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@echo "Setting up $(VENV) (first run only, about a minute)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip $(call QUIET_PIP,$(VENV))
	@$(PY) -m pip install -q -e '.[test,lint,bench,deploy]' $(call QUIET_PIP,$(VENV))
	@touch $@

# checkov pins its own boto3 and friends: it lives in a venv of its own so that it never
# drags the app's dependencies.
$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt
	@echo "Setting up $(CHECKOV_VENV) (first run only)"
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install -q -r tools/checkov-requirements.txt $(call QUIET_PIP,$(CHECKOV_VENV))
	@touch $@

# cfn-guard and the Control Tower rules, pinned in the script, from their npm package.
$(GUARD_DIR)/.installed: tools/install-cfn-guard.sh
	@echo "Setting up $(GUARD_DIR) (first run only)"
	@tools/install-cfn-guard.sh $(GUARD_DIR)
	@touch $@

setup: system-packages $(VENV)/.installed $(CHECKOV_VENV)/.installed $(GUARD_DIR)/.installed

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

# The templates built (a second or so; unchanged files are left alone) and linted only when a
# template or a scanner's pin changed since the last clean lint, then the site on the embedded
# default: one SQLite file for both aliases, a demo superuser, a few hundred employees. So a
# second run goes straight to serving; make test always lints.
LINT_STAMP := $(VENV)/.templates-linted
run: run-packages $(VENV)/.installed $(CHECKOV_VENV)/.installed $(GUARD_DIR)/.installed
	@$(PY) -m infra build
	@$(MAKE) -s --no-print-directory $(LINT_STAMP)
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py ensure_superuser
	@$(PY) manage.py seed_employees --count 300 --seed 1 --if-empty
	@$(PY) manage.py serve 127.0.0.1:$(PORT)

# A separate make call (from run) so that it sees the templates as the build left them.
$(LINT_STAMP): $(wildcard templates_out/*.yaml) tools/checkov-requirements.txt \
		tools/install-cfn-guard.sh setup.cfg
	@echo "Linting the templates (cfn-lint, checkov, cfn-guard); next time only if they change"
	@$(PY) -m infra lint > $(VENV)/lint.log 2>&1 || { cat $(VENV)/lint.log; exit 1; }
	@tail -n 1 $(VENV)/lint.log
	@touch $@

# Benchmarks on their own MariaDB pair (23306/23307), a million rows loaded once and kept; writes
# bench-results.json and BENCHMARKS.md. BENCH_ARGS, e.g. --commit HEAD (a clean export), --fresh.
bench: setup
	$(PY) -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(GUARD_DIR) build *.egg-info
