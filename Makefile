# Two commands set everything up on a fresh machine:
#   make run   — install, build the embedded tiny model if it is missing, serve the lab
#   make test  — the same set-up plus Chromium and test tools, then the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 7860
export LAB_WORKSPACE ?= $(CURDIR)/workspace
# the last of the embedded models `lab models bootstrap` builds (tiny, then tiny-rag from it)
TINY := $(LAB_WORKSPACE)/models/tiny-rag/model.safetensors
# torch is pinned to the CPU build this machine has on disk; an unpinned torch pulls a multi-GB
# CUDA build. Elsewhere, point TORCH_INDEX at the wheel index you want (a CPU or a CUDA one).
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?=

.PHONY: run test install install-test bootstrap chromium slurm system-packages unit integration e2e clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install -q -e .
	# DeepSpeed is an sdist that imports torch to build: build it against the pinned torch.
	$(PIP) install -q --no-build-isolation deepspeed
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(TINY): | $(VENV)/.installed
	$(VENV)/bin/lab models bootstrap

bootstrap: $(TINY)

run: install bootstrap
	$(PY) launch.py --host $(HOST) --port $(PORT)

# Debian's chromium (and Japanese fonts, so screenshots show text) when missing and apt-get is
# usable; otherwise an existing chromium (or LAB_CHROMIUM=/path/to/chromium).
chromium:
	@need=""; \
	command -v chromium >/dev/null 2>&1 || [ -n "$$LAB_CHROMIUM" ] || need="chromium"; \
	fc-list :lang=ja 2>/dev/null | grep -q . || need="$$need fonts-noto-cjk"; \
	if [ -z "$$need" ]; then \
	  echo "chromium: $${LAB_CHROMIUM:-$$(command -v chromium)}"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	elif command -v chromium >/dev/null 2>&1 || [ -n "$$LAB_CHROMIUM" ]; then \
	  echo "warning: no Japanese fonts; screenshots show boxes for Japanese text" >&2; \
	else \
	  echo "chromium is missing and apt-get is not usable: install Chromium or set LAB_CHROMIUM" >&2; exit 1; \
	fi

# Debian's slurm-wlm and munge for the one-node Slurm cluster the Slurm tests start (tests/slurm_cluster.py)
# when missing and apt-get is usable; otherwise those tests are skipped and say why.
slurm:
	@if command -v sbatch >/dev/null 2>&1 && { command -v slurmd || [ -x /usr/sbin/slurmd ]; } >/dev/null 2>&1 \
	    && { command -v munged || [ -x /usr/sbin/munged ]; } >/dev/null 2>&1; then \
	  echo "slurm: $$(command -v sbatch)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing: slurm-wlm munge"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; \
	else \
	  echo "warning: slurm-wlm and munge are missing and apt-get is not usable: the Slurm tests will be skipped" >&2; \
	fi

# Chromium, its fonts and Slurm one after the other (both use apt's lock).
system-packages:
	@$(MAKE) --no-print-directory chromium
	@$(MAKE) --no-print-directory slurm

# -rs prints why a test was skipped (no Slurm, no GPU, …).
# Two pytest workers, a test file each at a time: most tests wait on subprocesses, servers and a
# browser, so two files in parallel finish well sooner even on 2 cores (TEST_WORKERS=0: serial).
TEST_WORKERS ?= 2
# The system packages install while the embedded models train: apt waits on the network and the
# disk, the bootstrap on the CPU (on a fresh machine this saves most of the packages' minutes).
test: install-test
	$(MAKE) --no-print-directory -j2 --output-sync=target bootstrap system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -rs --durations=25 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) tests

unit: install-test
	$(PY) -m pytest -q tests/unit

integration: install-test bootstrap
	$(PY) -m pytest -q tests/integration

e2e: install-test bootstrap chromium
	$(PY) -m pytest -q tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache
