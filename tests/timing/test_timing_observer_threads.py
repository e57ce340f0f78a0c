"""The ``timing`` observer simulates each scheme's model on a thread of its own: the tables are those of
feeding the models one after the other, and a failure stops every thread it started."""
from __future__ import annotations

import threading

import pytest

from archsim.config import load_config
from archsim.run import run_experiment
from archsim.timing.model import TimingModel
from archsim.timing.observer import TimingObserver


def _config(*extra: str):
    return load_config(None, ["run.workload=mlp-digits", "run.iterations=6", "run.chunk_iterations=1",
                              'run.schemes=["preset", "appwom"]', 'run.observers=["timing"]', *extra])


def _timing_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.is_alive() and t.name.startswith(("archsim-timing-", "archsim-intermediate"))]


@pytest.mark.parametrize("pattern", ["minimal", "training"])
def test_the_models_threads_give_the_serial_tables(pattern, monkeypatch):
    cfg = _config(f"timing.access_pattern={pattern}")
    threaded = run_experiment(cfg, progress=False)

    def serial(self, scheme, first_iteration, outcome):  # each model fed at once, on the main thread
        self.models[scheme].feed(outcome)
        self._fed[scheme] += outcome.outcome.shape[0]

    monkeypatch.setattr(TimingObserver, "chunk", serial)
    plain = run_experiment(cfg, progress=False)
    for name, table in plain.tables.items():
        assert threaded.tables[name].to_csv(index=False) == table.to_csv(index=False), name


def test_a_failing_model_stops_every_thread(monkeypatch):
    real = TimingModel.feed
    calls = []

    def failing(self, chunk):
        calls.append(self.scheme)
        if len(calls) == 3:
            raise ValueError("the model broke")
        real(self, chunk)

    monkeypatch.setattr(TimingModel, "feed", failing)
    with pytest.raises(ValueError, match="the model broke"):
        run_experiment(_config(), progress=False)
    assert len(calls) < 2 * 6          # the run stopped: not every chunk of every scheme was simulated
    assert _timing_threads() == []     # and left no model thread or intermediate pool behind
