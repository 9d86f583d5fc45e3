# Two commands do all the set-up on a machine with nothing but Python:
#   make demo   train, register and look up the demo credit model (embedded SQLite, shipped data)
#   make test   install what the tests need and run them all (lint, Dockerfile lint, pytest)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install lint serve lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres,test]'
	touch $@ $(VENV)/.installed-base

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "$(CHROMIUM) is missing: run 'apt-get install chromium' as root (the browser tests need it)"; fi

install: $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/xai-gov demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check xai_gov api tests bench
	$(BIN)/mypy xai_gov api bench
	$(BIN)/hadolint Dockerfile

test: lint | $(CHROMIUM)
	$(BIN)/pytest

serve: $(VENV)/.installed-base
	$(BIN)/xai-gov serve --demo-model

# Pin the image's dependencies: resolve '.[postgres,mlflow]' in a throw-away venv and freeze it.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet '.[postgres,mlflow]'
	.lock-venv/bin/pip freeze --exclude xai-gov > requirements.lock
	rm -rf .lock-venv build

clean:
	rm -rf $(VENV) .xai-gov .pytest_cache .ruff_cache build *.egg-info
