# Two commands on a fresh machine:
#   make demo   - create .venv, install gymdata and its pinned dependencies, run the main job on the sample
#   make test   - same install (and Debian's chromium when root), then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# pipefail, so that filtering pip's noise keeps its exit status
SHELL  := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET_PIP := grep -v "is ignored: it is neither a file nor a directory" || true

.PHONY: install demo test browser clean js

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | { $(QUIET_PIP); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | { $(QUIET_PIP); }
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/gymdata demo

test: install browser
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -q

# The one system package a test needs: Debian's chromium for the App browser test (tests/test_app_e2e.py).
# Installed when running as root with apt-get; otherwise one line says so and that test is skipped.
# (Nothing needs ffmpeg/ffprobe: gymdata probes and encodes media with PyAV and writes FiftyOne's
# video metadata itself.)
browser:
	@command -v chromium >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser test (apt-get)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "could not install chromium: the browser test will be skipped"; \
	else \
	  echo "chromium is not installed and cannot be installed here (as root: apt-get install chromium): the browser test will be skipped"; \
	fi

clean:
	rm -rf $(VENV) gymdata-data .pytest_cache

# The App plugin's "Gym keys" panel (annotators/plugin/js, React + vite): rebuilds the committed bundle
# annotators/plugin/dist/index.umd.js. Only needed after changing the JS source; users need no npm.
js:
	cd annotators/plugin/js && npm ci --no-audit --no-fund && npx vite build
