"""PCM's one-pass pricing of a chunk for the timing model (``Pcm.price_writes``, the ``price_chunk`` kernel) gives
the numbers of the general path (``MemoryTechnology.price_writes``: ``service_times`` in ns, ``to_ps``,
``line_totals``) bit for bit."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.config import Config, replace
from archsim.contracts import TECHNOLOGIES, ChunkOutcome, MemoryTechnology

PCM = TECHNOLOGIES.get("pcm")
latency = st.floats(min_value=0.001, max_value=1e5, allow_nan=False, allow_infinity=False)


def _same(a, b) -> None:
    assert a.write_ps.dtype == b.write_ps.dtype == np.int64
    np.testing.assert_array_equal(a.write_ps, b.write_ps)
    np.testing.assert_array_equal(a.refresh_ps, b.refresh_ps)
    assert list(a.totals) == list(b.totals)
    for k in a.totals:
        assert a.totals[k].dtype == b.totals[k].dtype, k
        np.testing.assert_array_equal(a.totals[k], b.totals[k], err_msg=k)


@settings(max_examples=60, deadline=None)
@given(T=st.integers(1, 5), L=st.integers(1, 40), seed=st.integers(0, 2**32 - 1), set_ns=latency, reset_ns=latency,
       read_ns=latency, read_first=st.booleans(), zeros=st.floats(0.0, 1.0))
def test_one_pass_pricing_is_the_general_path(T, L, seed, set_ns, reset_ns, read_ns, read_first, zeros):
    cfg = replace(Config(), {"pcm.set_latency_ns": set_ns, "pcm.reset_latency_ns": reset_ns,
                             "pcm.read_latency_ns": read_ns, "pcm.read_before_write": read_first})
    rng = np.random.default_rng(seed)
    outcome = rng.integers(0, 70, size=(T, L, 5), dtype=np.uint32)
    outcome[rng.random((T, L, 5)) < zeros] = 0   # silent writes, writes that only RESET, no refresh, ...
    chunk = ChunkOutcome(outcome, None, {}, tuple(PCM.outcome_fields))
    fast = PCM.price_writes(chunk, cfg)
    _same(fast, MemoryTechnology.price_writes(PCM, chunk, cfg))
    assert PCM.price_writes(chunk, cfg, totals=False).totals == {}


def test_the_one_pass_runs_the_kernel(monkeypatch):
    from archsim import _pcm_kernels

    calls = []
    real = _pcm_kernels.price_chunk
    monkeypatch.setattr(_pcm_kernels, "price_chunk", lambda *a: calls.append(a[0].shape) or real(*a))
    outcome = np.random.default_rng(0).integers(0, 9, size=(2, 7, 5), dtype=np.uint32)
    PCM.price_writes(ChunkOutcome(outcome, None, {}, tuple(PCM.outcome_fields)), Config())
    assert calls == [(2, 7, 5)]


def test_a_power_budget_or_writes_of_their_own_latency_take_the_general_path():
    rng = np.random.default_rng(1)
    outcome = rng.integers(0, 70, size=(3, 9, 5), dtype=np.uint32)
    budget = replace(Config(), {"pcm.write_power_budget": 16})
    chunk = ChunkOutcome(outcome, None, {}, tuple(PCM.outcome_fields))
    _same(PCM.price_writes(chunk, budget), MemoryTechnology.price_writes(PCM, chunk, budget))
    for extras in ({"write_ns": rng.random((3, 9)) * 900}, {"write_set_energy_pj": rng.random((3, 9))}):
        own = ChunkOutcome(outcome, None, extras, tuple(PCM.outcome_fields))
        priced = PCM.price_writes(own, Config())
        _same(priced, MemoryTechnology.price_writes(PCM, own, Config()))
        if "write_set_energy_pj" in extras:
            assert priced.totals["write_set"].dtype == np.float64   # DAP's lossy SETs: energies, not counts


def test_a_subclass_with_rules_of_its_own_is_priced_by_them():
    """A plugin that subclasses Pcm and changes a rule: the one pass does not bypass it."""
    from archsim.pcm.technology import Pcm

    class Slow(Pcm):
        def service_times(self, chunk, config):
            st = super().service_times(chunk, config)
            return type(st)(st.write_ns * 2, st.refresh_ns, st.read_ns)

    outcome = np.random.default_rng(2).integers(1, 9, size=(2, 5, 5), dtype=np.uint32)
    chunk = ChunkOutcome(outcome, None, {}, tuple(PCM.outcome_fields))
    slow, plain = Slow().price_writes(chunk, Config()), PCM.price_writes(chunk, Config())
    np.testing.assert_array_equal(slow.write_ps, 2 * plain.write_ps)
