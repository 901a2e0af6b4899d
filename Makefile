# Two commands do all the set-up on a fresh machine:
#   make demo   installs everything into .venv and runs the quickstart study end to end
#   make test   installs everything (with the dev tools) and runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip
PIP_FLAGS := --disable-pip-version-check --no-input -q -c requirements/constraints.txt

.PHONY: demo test venv lint typecheck bench clean system-deps

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: pip takes the CPU build from this machine's disk; a looser
	# requirement would make pip fetch a CUDA build of several GB.
	$(PIP) install $(PIP_FLAGS) torch==2.13.0
	$(PIP) install $(PIP_FLAGS) -e '.[all,dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/rigorlab run examples/quickstart.yaml
	$(BIN)/rigorlab show quickstart
	$(BIN)/rigorlab compare quickstart
	$(BIN)/rigorlab report quickstart
	@echo
	@echo "Results are in .rigorlab/ (SQLite + objects); the report is reports/quickstart/report.html"
	@echo "(also report.md, results_table.tex, methods.tex, figures/). Next: source .venv/bin/activate, then"
	@echo "rigorlab status, rigorlab audit quickstart, rigorlab reproduce quickstart --sample 10"

# System tools the tests use, from Debian: Chromium for the browser tests (driven by Playwright;
# `playwright install` cannot download its own browser here) and pdflatex with booktabs, so the
# report's LaTeX table is compiled for real.
system-deps:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); updated=""; \
	if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing chromium from Debian"; $$SUDO apt-get update -qq; updated=1; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi; \
	if ! command -v pdflatex >/dev/null 2>&1; then \
		echo "Installing pdflatex (texlive-latex-base, texlive-latex-recommended) from Debian"; \
		[ -n "$$updated" ] || $$SUDO apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			texlive-latex-base texlive-latex-recommended >/dev/null; \
	fi

test: $(STAMP) system-deps
	$(BIN)/python -m pytest
	$(MAKE) lint

# Style and types are part of the test: ruff (E, F, I, B, UP, SIM, C4, NPY) and mypy --strict on src/.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) .rigorlab .pytest_cache .mypy_cache .ruff_cache
