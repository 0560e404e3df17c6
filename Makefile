# Two commands on a fresh machine:
#   make demo   - create .venv, install gymdata and its pinned dependencies, run the main job on the sample
#   make test   - same install, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# pipefail, so that filtering pip's noise keeps its exit status
SHELL  := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET_PIP := grep -v "is ignored: it is neither a file nor a directory" || true

.PHONY: install demo test clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | { $(QUIET_PIP); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | { $(QUIET_PIP); }
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/gymdata demo

test: install
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -q

clean:
	rm -rf $(VENV) gymdata-data .pytest_cache
