"""Shared test set-up. The tests are grouped by component (``core``, ``pcm``, ``racetrack``, ``timing``,
``workloads``, ``cli``, ``golden``); helpers shared between groups live in ``tests/helpers``."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))

from hypothesis import HealthCheck, settings

# CI: more examples, no per-example deadline (2 shared cores are noisy)
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
