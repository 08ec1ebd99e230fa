# Two commands: `make demo` and `make test`. Each creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test bench browser clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	# torch 2.13.0 is the CPU build on this project's machines (seconds, from local disk); the
	# catvton extra leaves the choice of build to your pip elsewhere. pip byte-compiles one file at a
	# time (80 of the install's 130 s, for torch and transformers); compileall uses every core. The
	# byte code must exist: where PYTHONDONTWRITEBYTECODE is set (as on this project's machines), nothing is cached later.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile "torch==2.13.0"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[test]"
	# The metrics' reference implementations for the tests; their torchvision requirement is left out
	# (the tests stand in for it), as pip would replace the CPU torch with a CUDA build to meet it.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --no-deps "lpips==0.1.4" "clean-fid==0.1.35"
	$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true
	$(BIN)/tryon models fetch
	touch $(STAMP)

demo: install
	$(BIN)/tryon demo --out demo

test: install browser
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
