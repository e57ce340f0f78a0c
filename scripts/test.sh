#!/usr/bin/env bash
# Quick start 2: the test suite (installs the test and torch extras into .venv).
ARCHSIM_EXTRAS="test,torch"
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python -m pytest -n 2 "$@"
