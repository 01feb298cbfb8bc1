# petdx — every target sets up what it needs on a fresh machine.
#   make demo   set up, then run the main job on the embedded default
#   make test   set up, then ruff + mypy + the whole pytest suite
#   make test-fast  the unit tests only: no PostgreSQL server, no simulated cohort, nothing slow
#   make bench  set up, then the benchmarks (ratios against named peers)
#   make lint   ruff (lint + format check) and mypy only
#   make lock   renew constraints.txt, the exact package versions every target installs

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.petdx-installed
SYSTEM_STAMP := .petdx-system-deps
# External reference data: ../shared/data beside the checkout, else the workplace copy.
SHARED_DATA ?= $(firstword $(wildcard ../shared/data /work/shared/data) ../shared/data)

.PHONY: demo test test-fast bench lint format venv system-deps clean lock

# constraints.txt: the exact versions CI and every checkout install (make lock renews it).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,dask]'
	@touch $(STAMP)

venv: $(STAMP)

# Resolve pyproject.toml's ranges afresh in a throwaway environment and write the versions
# to constraints.txt (through a temporary file); then run make test before committing it.
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[dev,dask]'
	{ echo "# The versions make test and make demo install (pip install -c constraints.txt): every"; \
	  echo "# package of .[dev,dask] and its dependencies, resolved on $$(date -u +%Y-%m-%d) from pyproject.toml's ranges."; \
	  echo "# Regenerate with make lock, then run make test; never edit by hand (docs/dependencies.md)."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt
	rm -rf $(LOCK_VENV)

$(SYSTEM_STAMP): scripts/install-system-deps.sh
	./scripts/install-system-deps.sh
	@touch $(SYSTEM_STAMP)

system-deps: $(SYSTEM_STAMP)

DEMO_DIR ?= demo-study

demo: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/petdx demo $(DEMO_DIR)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

test: $(STAMP) $(SYSTEM_STAMP) lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Markers in pyproject.toml: postgres (the throwaway server), cohort (a simulated cohort),
# slow (more than a few seconds: worker-process kills, cohort scale). No lint: make lint.
FAST_MARKERS := not slow and not postgres and not cohort
test-fast: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "$(FAST_MARKERS)"

# PyRadiomics (peer of bench_quantify) lives in its own environment: not a petdx dependency.
# 3.0.1 is the last release that installs (3.1.0 does not); it builds against numpy only.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.pyradiomics-installed
$(BENCH_STAMP):
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet numpy setuptools wheel
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-build-isolation pyradiomics==3.0.1
	@touch $(BENCH_STAMP)

bench: $(STAMP) $(SYSTEM_STAMP) $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) $(SYSTEM_STAMP) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
