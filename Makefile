# One entry point for set-up, demo and tests. Installs are pinned (requirements/lock.txt, --no-deps).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
QUERY ?= when does she cheer up?

.PHONY: install demo test test-fast vllm-setup browser

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

# The vLLM CPU backend lives in its own venv under the cache dir (set up once, ~5 min, ~3.5 GB);
# if that setup fails (e.g. no registry access) its tests skip and say so.
vllm-setup: install
	$(VENV)/bin/affectlens serve-llm --backend vllm --setup-only || echo "vLLM CPU setup failed: tests/test_vllm.py will skip"

browser: install
	bash scripts/install_browser.sh

test: install vllm-setup browser
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"
