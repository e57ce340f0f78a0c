#!/usr/bin/env bash
# Quick start 1: the main job on the built-in default workload.
# Extra arguments go to `archsim run` (for example --out DIR or --iterations N).
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/archsim run "$@"
