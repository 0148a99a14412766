# iclprune: the two commands a reviewer needs are `make run` and `make test`.
# Both create the pinned environment in .venv first if it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.iclprune-installed
CORES ?= 2
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: env run test bench bench-workflow lint format clean lock

env: $(STAMP)

# Exact pins from requirements.lock, installed without resolution (the lock is complete);
# torch's CPU build comes from the local wheel directory the pip config points at.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

run: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/config.yaml
	$(VENV)/bin/snakemake --configfile config/config.yaml --report results/embedded/report.html

test: $(STAMP)
	$(PY) -m pytest -q

# the micro benchmarks (about 6 min on a 2-core CPU); bench-workflow times whole workflow runs (32 min)
bench: $(STAMP)
	$(PY) bench/run_all.py

bench-workflow: $(STAMP)
	$(PY) bench/run_all.py --workflow

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts bench tasks
	$(VENV)/bin/ruff format --check src tests scripts bench tasks
	$(VENV)/bin/snakefmt --check Snakefile rules
	$(VENV)/bin/snakemake --lint --configfile config/config.yaml

format: $(STAMP)
	$(VENV)/bin/ruff format src tests scripts bench tasks
	$(VENV)/bin/snakefmt Snakefile rules

# Regenerate the lock from the current environment (maintainers only).
lock:
	$(PY) -m pip freeze --all --exclude-editable | grep -vE "^(-e |pip==)" | sort -f > requirements.lock

clean:
	rm -rf results logs benchmarks .snakemake
