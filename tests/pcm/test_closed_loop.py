"""The closed loop: SchemeMemory routes the trainer's tensors through a write scheme."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.closed_loop import IterationClock, SchemeMemory, merge_results
from archsim.config import load_config
from archsim.pcm import replay
from archsim.errors import ConfigError
from workloads import WORKLOADS, IdentityMemory, TensorSpec

ITER = 25


def _train(memory_factory, workload="mlp-digits", iterations=ITER, seed=3):
    wl = WORKLOADS.get(workload)()
    model = type(wl).build_model(np.random.default_rng([seed, 0]))
    tensors, schedule = model.describe(momentum=True)
    params = [t for t in tensors if t.kind in ("weight", "bias")]
    mem = memory_factory(params, schedule)
    tr = wl.trainer(seed=seed, memory=mem)
    losses = tr.train(iterations)
    return tr.param_row(), losses, mem


@pytest.mark.parametrize("scheme", ["dcw", "fnw"])
def test_exact_scheme_reproduces_open_loop_bit_for_bit(scheme):
    cfg = load_config(None)
    row_id, loss_id, _ = _train(lambda p, s: IdentityMemory())
    row, loss, mem = _train(lambda p, s: SchemeMemory(scheme, cfg, p))
    assert row.tobytes() == row_id.tobytes()
    assert loss == loss_id
    # and the open loop without any memory argument
    wl = WORKLOADS.get("mlp-digits")()
    tr = wl.trainer(seed=3)
    assert tr.train(ITER) == loss_id and tr.param_row().tobytes() == row_id.tobytes()
    r = mem.result()
    assert r.iterations == ITER + 1  # the initial store counts as a write
    assert r.lines == mem.layout.lines


def test_dap_with_long_retention_is_exact():
    cfg = load_config(None, ["dap.retention_s=1e6"])
    row_id, loss_id, _ = _train(lambda p, s: IdentityMemory())
    row, loss, mem = _train(lambda p, s: SchemeMemory("dap", cfg, p))
    assert row.tobytes() == row_id.tobytes() and loss == loss_id
    assert mem.result().decayed_cells == 0 and mem.result().lossy_set_flips > 0


def test_ps_decay_changes_training_and_dap_keeps_high_bits():
    cfg = load_config(None, ["dap.retention_s=0.02", "dap.weibull_scale_s=0.01"])
    row_id, _, _ = _train(lambda p, s: IdentityMemory())
    row_ps, _, mem_ps = _train(lambda p, s: SchemeMemory("ps", cfg, p, clock=IterationClock(0.01, p, s, 32)))
    row_dap, _, mem_dap = _train(lambda p, s: SchemeMemory("dap", cfg, p, clock=IterationClock(0.01, p, s, 32)))
    assert mem_ps.result().decayed_cells > 0 and mem_dap.result().decayed_cells > 0
    # ps destroys weights; dap's decays only touch the 11 low mantissa bits
    err_ps = np.abs(row_ps - row_id).max()
    err_dap = np.abs(row_dap - row_id).max()
    assert err_ps > 10 * err_dap
    assert np.mean(np.abs(row_ps)) < 0.5 * np.mean(np.abs(row_id))


def test_approximate_scheme_returns_stored_values():
    """appwom through the closed loop returns exactly what a replay of the same writes stores."""
    cfg = load_config(None)
    spec = [TensorSpec("a", "l", "weight", (40,))]
    mem = SchemeMemory("appwom", cfg, spec)
    rng = np.random.default_rng(0)
    vals = (rng.standard_normal((6, 40)) * 0.1).astype(np.float32)
    got = np.stack([mem.store("a", v.copy()) for v in vals])
    lines = np.zeros((6, 3, 16), np.uint32)
    lines.reshape(6, -1)[:, :40] = vals.view(np.uint32)
    ref = replay("appwom", lines).stored.reshape(6, -1)[:, :40].view(np.float32)
    assert got.tobytes() == ref.tobytes()
    assert not np.array_equal(got, vals)  # approximate


def test_clock_positions():
    wl = WORKLOADS.get("lenet-digits")()
    model = type(wl).build_model(np.random.default_rng([0, 0]))
    tensors, schedule = model.describe(momentum=True)
    params = [t for t in tensors if t.kind in ("weight", "bias")]
    c = IterationClock(0.01, params, schedule, 32)
    first, last = params[0].name, params[-1].name
    assert c.write_time(first, -1) == 0.0
    # updates come at the end of the iteration; forward reads early (first layer first)
    assert 0.009 < c.write_time(first, 0) <= 0.01
    assert 0.01 <= c.read_time(first, 0) < c.read_time(last, 0) < 0.02
    assert c.read_time(first, 0) > c.write_time(first, 0)
    with pytest.raises(ConfigError):
        IterationClock(0.0)


def test_bad_store_and_merge():
    cfg = load_config(None)
    mem = SchemeMemory("dcw", cfg, [TensorSpec("a", "l", "weight", (4,))])
    with pytest.raises(ConfigError, match="not in the memory layout"):
        mem.store("b", np.zeros(4, np.float32))
    with pytest.raises(ConfigError, match="4"):
        mem.store("a", np.zeros(5, np.float32))
    with pytest.raises(Exception, match="nope"):
        SchemeMemory("nope", cfg, [TensorSpec("a", "l", "weight", (4,))])
    r1 = replay("dcw", np.ones((3, 2, 16), np.uint32))
    r2 = replay("dcw", np.full((3, 1, 16), 7, np.uint32))
    m = merge_results([r1, r2])
    assert m.lines == 3 and m.bit_flips == r1.bit_flips + r2.bit_flips and m.wear.shape == (3, 16, 32)
    assert m.energy_pj == pytest.approx(r1.energy_pj + r2.energy_pj)
