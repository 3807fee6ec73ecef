# Two commands on a fresh machine: `make demo` and `make test`. Each builds the venv itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo demo-telegram test lint types imports check bench reproduce clean

venv: $(STAMP)

# constraints.txt pins every package to the versions the published figures were made with.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
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
	$(BIN)/python bench/backtest_rules_floor.py
	$(BIN)/python bench/backtest_rules_floor.py --track 1dte
	$(BIN)/python bench/backtest_schedules.py
	$(BIN)/python bench/backtest_paths.py
	$(BIN)/python bench/backtest_risks.py
	$(BIN)/python bench/backtest_vx.py
	$(BIN)/python bench/backtest_trigger_sensitivity.py
	$(BIN)/python bench/zero_dte_moves.py
	$(BIN)/python bench/chain_accuracy.py
	$(BIN)/python bench/surface_calibration.py
	$(BIN)/python bench/spread_calibration.py
	$(BIN)/python bench/path_calibration.py
	$(BIN)/python bench/term_structure_calibration.py
	$(BIN)/python bench/bench_broadcast.py

# Re-run every published backtest (the README's tables) and compare it with its report in
# docs/backtest/reports, figure by figure and trade by trade; fails naming any that moved.
# About 12 minutes with two processes. After a change that moves figures on purpose,
# re-publish with the same command and --report FILE in place of --check FILE, and update the
# README (its tests say which rows).
SPAN_SHORT := --from 2014-08-01 --to 2026-07-08 --jobs 2
SPAN_45    := --from 2007-01-01 --to 2026-07-08
BACKTEST   := $(BIN)/condorbot backtest
reproduce: venv
	$(BACKTEST) --track 0dte $(SPAN_SHORT) --check docs/backtest/reports/0dte.json.gz
	$(BACKTEST) --track 1dte $(SPAN_SHORT) --check docs/backtest/reports/1dte.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --check docs/backtest/reports/45dte.json.gz
	$(BACKTEST) --track 0dte $(SPAN_SHORT) --defence close --check docs/backtest/reports/0dte_close.json.gz
	$(BACKTEST) --track 1dte $(SPAN_SHORT) --defence close --check docs/backtest/reports/1dte_close.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --defence close --check docs/backtest/reports/45dte_close.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --model-term-structure --check docs/backtest/reports/45dte_from_2008.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --model-term-structure --path-seed 1 --check docs/backtest/reports/45dte_from_2008_seed1.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --model-term-structure --path-seed 2 --check docs/backtest/reports/45dte_from_2008_seed2.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --model-term-structure --path-seed 3 --check docs/backtest/reports/45dte_from_2008_seed3.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --model-term-structure --path-seed 4 --check docs/backtest/reports/45dte_from_2008_seed4.json.gz
	$(BACKTEST) --track 45dte $(SPAN_45) --model-term-structure --defence close --check docs/backtest/reports/45dte_from_2008_close.json.gz
	$(BACKTEST) --track 0dte --risk conservative $(SPAN_SHORT) --check docs/backtest/reports/0dte_conservative.json.gz
	$(BACKTEST) --track 1dte --risk conservative $(SPAN_SHORT) --check docs/backtest/reports/1dte_conservative.json.gz
	$(BACKTEST) --track 45dte --risk conservative $(SPAN_45) --check docs/backtest/reports/45dte_conservative.json.gz
	$(BACKTEST) --track 0dte --risk aggressive $(SPAN_SHORT) --check docs/backtest/reports/0dte_aggressive.json.gz
	$(BACKTEST) --track 1dte --risk aggressive $(SPAN_SHORT) --check docs/backtest/reports/1dte_aggressive.json.gz
	$(BACKTEST) --track 45dte --risk aggressive $(SPAN_45) --check docs/backtest/reports/45dte_aggressive.json.gz
	$(BACKTEST) --track 0dte --path-seed 1 $(SPAN_SHORT) --check docs/backtest/reports/0dte_seed1.json.gz
	$(BACKTEST) --track 1dte --path-seed 1 $(SPAN_SHORT) --check docs/backtest/reports/1dte_seed1.json.gz
	$(BACKTEST) --track 45dte --path-seed 1 $(SPAN_45) --check docs/backtest/reports/45dte_seed1.json.gz
	$(BACKTEST) --track 0dte --path-seed 2 $(SPAN_SHORT) --check docs/backtest/reports/0dte_seed2.json.gz
	$(BACKTEST) --track 1dte --path-seed 2 $(SPAN_SHORT) --check docs/backtest/reports/1dte_seed2.json.gz
	$(BACKTEST) --track 45dte --path-seed 2 $(SPAN_45) --check docs/backtest/reports/45dte_seed2.json.gz
	$(BACKTEST) --track 0dte --path-seed 3 $(SPAN_SHORT) --check docs/backtest/reports/0dte_seed3.json.gz
	$(BACKTEST) --track 1dte --path-seed 3 $(SPAN_SHORT) --check docs/backtest/reports/1dte_seed3.json.gz
	$(BACKTEST) --track 45dte --path-seed 3 $(SPAN_45) --check docs/backtest/reports/45dte_seed3.json.gz
	$(BACKTEST) --track 0dte --path-seed 4 $(SPAN_SHORT) --check docs/backtest/reports/0dte_seed4.json.gz
	$(BACKTEST) --track 1dte --path-seed 4 $(SPAN_SHORT) --check docs/backtest/reports/1dte_seed4.json.gz
	$(BACKTEST) --track 45dte --path-seed 4 $(SPAN_45) --check docs/backtest/reports/45dte_seed4.json.gz
	$(BACKTEST) --track 0dte --defence close --path-seed 1 $(SPAN_SHORT) --check docs/backtest/reports/0dte_close_seed1.json.gz
	$(BACKTEST) --track 1dte --defence close --path-seed 1 $(SPAN_SHORT) --check docs/backtest/reports/1dte_close_seed1.json.gz
	$(BACKTEST) --track 45dte --defence close --path-seed 1 $(SPAN_45) --check docs/backtest/reports/45dte_close_seed1.json.gz
	$(BACKTEST) --track 0dte --defence close --path-seed 2 $(SPAN_SHORT) --check docs/backtest/reports/0dte_close_seed2.json.gz
	$(BACKTEST) --track 1dte --defence close --path-seed 2 $(SPAN_SHORT) --check docs/backtest/reports/1dte_close_seed2.json.gz
	$(BACKTEST) --track 45dte --defence close --path-seed 2 $(SPAN_45) --check docs/backtest/reports/45dte_close_seed2.json.gz
	$(BACKTEST) --track 0dte --defence close --path-seed 3 $(SPAN_SHORT) --check docs/backtest/reports/0dte_close_seed3.json.gz
	$(BACKTEST) --track 1dte --defence close --path-seed 3 $(SPAN_SHORT) --check docs/backtest/reports/1dte_close_seed3.json.gz
	$(BACKTEST) --track 45dte --defence close --path-seed 3 $(SPAN_45) --check docs/backtest/reports/45dte_close_seed3.json.gz
	$(BACKTEST) --track 0dte --defence close --path-seed 4 $(SPAN_SHORT) --check docs/backtest/reports/0dte_close_seed4.json.gz
	$(BACKTEST) --track 1dte --defence close --path-seed 4 $(SPAN_SHORT) --check docs/backtest/reports/1dte_close_seed4.json.gz
	$(BACKTEST) --track 45dte --defence close --path-seed 4 $(SPAN_45) --check docs/backtest/reports/45dte_close_seed4.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-04 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-04.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-05 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-05.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-06 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-06.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-07 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-07.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-10 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-10.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-11 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-11.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-12 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-12.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-13 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-13.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-14 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-14.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-18 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-18.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-19 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-19.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-20 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-20.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-21 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-21.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-24 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-24.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-25 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-25.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-26 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-26.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-27 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-27.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-28 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-28.json.gz
	$(BACKTEST) --track 45dte --from 2011-01-31 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-01-31.json.gz
	$(BACKTEST) --track 45dte --from 2011-02-01 --to 2026-07-08 --check docs/backtest/reports/45dte_start_2011-02-01.json.gz

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
