# The two README commands: `make demo` and `make test`. Both run the same idempotent setup
# (scripts/setup.sh: .venv with pinned dependencies + colcon build); a second run takes seconds.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup test demo clean distclean

help:
	@echo "make setup     - .venv/ with pinned dependencies, then colcon build (idempotent)"
	@echo "make test      - setup, then the whole test suite (non-zero exit on any failure)"
	@echo "make demo      - setup, then scripts/demo.sh"
	@echo "make clean     - remove build/ install/ log/"
	@echo "make distclean - clean, and remove .venv/"

setup:
	@scripts/setup.sh

test: setup
	@scripts/test.sh

demo: setup
	@if [[ -x scripts/demo.sh ]]; then scripts/demo.sh; \
	else echo "make demo: the demo is not available yet (scripts/demo.sh does not exist)." >&2; exit 2; fi

clean:
	rm -rf build install log

distclean: clean
	rm -rf .venv
