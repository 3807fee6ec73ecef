# Two commands on a fresh machine: `make demo` and `make test`. Each builds the venv itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo demo-telegram test lint types imports check bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/condorbot demo

# The same day also through a fake Telegram Bot API server on 127.0.0.1 (no token needed).
demo-telegram: venv
	$(BIN)/condorbot demo --telegram

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

check: lint types imports test

bench: venv
	$(BIN)/python bench/bench_pricing.py
	$(BIN)/python bench/bench_select.py
	$(BIN)/python bench/bench_hedge.py
	$(BIN)/python bench/bench_backtest.py
	$(BIN)/python bench/backtest_schedules.py
	$(BIN)/python bench/backtest_paths.py
	$(BIN)/python bench/backtest_risks.py
	$(BIN)/python bench/backtest_trigger_sensitivity.py
	$(BIN)/python bench/zero_dte_moves.py
	$(BIN)/python bench/chain_accuracy.py
	$(BIN)/python bench/surface_calibration.py
	$(BIN)/python bench/spread_calibration.py
	$(BIN)/python bench/path_calibration.py
	$(BIN)/python bench/term_structure_calibration.py
	$(BIN)/python bench/bench_broadcast.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
