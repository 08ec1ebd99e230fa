# Two commands: `make demo` and `make test`. Each creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	$(BIN)/tryon models fetch
	touch $(STAMP)

demo: install
	$(BIN)/tryon demo --out demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/analysis.py

clean:
	rm -rf $(VENV) demo build *.egg-info
