# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint lock audit clean bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: install
	$(PY) -m services

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Not part of `make test`: about 10 minutes; see bench/README.md.
bench: $(VENV)/.bench-installed
	$(PY) -m bench

$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Re-pin the runtime dependencies the container installs (after changing pyproject.toml).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet .
	(echo "# Pinned runtime dependencies (make lock regenerates it; the container installs from it)."; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v '^dgbv-monitor') > requirements.lock
	rm -rf .lock-venv

# Known vulnerabilities in the pinned dependencies (needs PyPI's JSON API or OSV reachable).
audit: install
	$(PY) -m pip install --quiet pip-audit==2.10.1
	$(VENV)/bin/pip-audit --strict -r requirements.lock --no-deps --progress-spinner off

clean:
	rm -rf $(VENV) var .pytest_cache
