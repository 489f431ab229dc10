# 巨好办 — `make run` serves the bot, `make test` runs every test. Both set up .venv first.
SHELL := /bin/bash
PY_VERSION := $(shell cat .python-version)
# pyenv's Python 3.10 when pyenv is there (Rasa 3.6 does not install on 3.11), else python3.10 on PATH.
PYTHON_BOOTSTRAP ?= $(shell for root in "$$(pyenv root 2>/dev/null)" "$${PYENV_ROOT:-$$HOME/.pyenv}"; do \
	p="$$root/versions/$(PY_VERSION)/bin/python"; if [ -x "$$p" ]; then echo "$$p"; exit 0; fi; done; \
	command -v python3.10)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test install browser train lock clean

run: install
	$(VENV)/bin/juhaoban serve

test: install browser
	$(VENV)/bin/python -m pytest

install: $(STAMP)

# One resolver pass happened when requirements.lock was made (`make lock`); installing from it reproduces it exactly.
$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON_BOOTSTRAP)" || { echo "Python $(PY_VERSION) not found (pyenv install $(PY_VERSION))"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The web chat's browser tests (tests/e2e/test_webchat_browser.py) drive Debian's chromium through Playwright
# (never Playwright's own browser downloads). Installs it when missing, as root; otherwise says how and fails.
CHROMIUM := /usr/bin/chromium
CHROMIUM_INSTALL := apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "$(CHROMIUM) is missing; the browser tests need Debian's chromium. As root run:"; \
		echo "    $(CHROMIUM_INSTALL)"; exit 1; \
	fi; \
	$(CHROMIUM_INSTALL) && test -x $(CHROMIUM)

train: install
	$(VENV)/bin/juhaoban train

# Re-resolve every dependency in one pass in a scratch venv and record the result.
lock:
	rm -rf .lockvenv && $(PYTHON_BOOTSTRAP) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	.lockvenv/bin/python -m pip freeze --all --exclude-editable | grep -vE '^(juhaoban|pip)==' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .pytest_cache
