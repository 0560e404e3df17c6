# Two commands on a fresh machine:
#   make demo   - create .venv, install gymdata and its pinned dependencies, run the main job on the sample
#   make test   - same install, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: install demo test bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/gymdata demo

test: install
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -q

clean:
	rm -rf $(VENV) gymdata-data .pytest_cache
