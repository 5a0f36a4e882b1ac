# One entry point for set-up, demo and tests. Installs are pinned (requirements/lock.txt, --no-deps).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
QUERY ?= when does she cheer up?

.PHONY: install demo test test-fast clean-cache

install: $(VENV)/.installed

$(VENV)/.installed: requirements/lock.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python >= 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements/lock.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	$(VENV)/bin/affectlens models >/dev/null
	touch $@

demo: install
	$(VENV)/bin/affectlens ask assets/sample_pexels.mp4 "$(QUERY)"

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"
