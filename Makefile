# `make demo` and `make test` work on a fresh clone: each bootstraps .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest slow bench clean venv vendor browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jirakit demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP) browser
	$(BIN)/python -m pytest -q -m "not slow"

# The soak and scale tests (@pytest.mark.slow); docs/development.md lists them and their times.
slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# The dashboard's browser tests drive Debian's chromium (Playwright never downloads one).
# As root (CI, containers) it is installed when missing; otherwise those tests say how.
# With an emoji font, so that the screenshots show what Jira's data holds (the sandbox
# writes emoji into field names and summaries) instead of empty boxes.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || [ "$$(id -u)" != 0 ] || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji; }; }
	@test -x $(CHROMIUM) || echo "note: $(CHROMIUM) is missing, so the dashboard's browser tests are skipped: sudo apt-get install chromium"

# Refresh the dashboard's vendored JavaScript from npm (versions in tools/vendor.json).
vendor:
	$(PYTHON) tools/vendor_js.py

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/client_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
