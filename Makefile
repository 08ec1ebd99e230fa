# Two commands: `make demo` and `make test`. Each creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_STAMP := $(VENV)/.demo-stamp
TEST_STAMP := $(VENV)/.test-stamp
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile
# pip byte-compiles one file at a time (80 of the test install's 130 s, for torch and transformers);
# compileall uses every core. The byte code must exist: where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines), nothing is cached later.
COMPILE = $(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true

.PHONY: install demo test bench browser clean

install: $(TEST_STAMP)

# make demo: the default engine's needs only (no PyTorch).
$(DEMO_STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PIP) -e ".[demo]"
	$(COMPILE)
	$(BIN)/tryon models fetch
	touch $(DEMO_STAMP)

# make test: every extra. torch 2.13.0 is the CPU build on this project's machines (seconds, from
# local disk); the extras leave the choice of build to your pip elsewhere.
$(TEST_STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[test]"
	# The metrics' reference implementations for the tests; their torchvision requirement is left out
	# (the tests stand in for it), as pip would replace the CPU torch with a CUDA build to meet it.
	$(PIP) --no-deps "lpips==0.1.4" "clean-fid==0.1.35"
	$(COMPILE)
	$(BIN)/tryon models fetch
	touch $(TEST_STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/tryon demo --out demo

test: $(TEST_STAMP) browser
	$(BIN)/python -m pytest -q

# The page's tests drive Debian's Chromium (Playwright's own browser download cannot run here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is not installed and this is not root; the browser tests will skip (sudo apt-get install chromium)"; fi; }

bench: install
	$(BIN)/python benchmarks/analysis.py

clean:
	rm -rf $(VENV) demo build *.egg-info
