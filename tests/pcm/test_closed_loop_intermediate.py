"""The closed loop with intermediate data: activations written at the forward pass, read back at the
backward pass through the scheme, after the clock's time between the two."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.closed_loop import IterationClock, SchemeMemory
from archsim.config import load_config
from archsim.errors import ConfigError
from archsim.pcm.dap import ALL_BITS
from workloads import WORKLOADS, IdentityMemory, TensorSpec
from workloads.datasets import Dataset
from workloads.layers import Dense
from workloads.meta import Step
from workloads.models import Sequential
from workloads.trainer import SGD, Trainer

ITER = 12


class FixedClock:
    """Weights at 0 and read at 0; intermediate tensor ``name`` written at ``t_write + i * period`` and
    read ``lifetime`` later (tensors in ``young``: read 1 ms after their write)."""

    def __init__(self, lifetime_s: float, period_s: float = 1.0, t_write: float = 0.0, young=()):
        self.life, self.period, self.t0, self.young = lifetime_s, period_s, t_write, set(young)

    def write_time(self, name, i):
        if name.endswith((".weight", ".bias")):
            return 0.0
        return self.t0 + i * self.period

    def read_time(self, name, i):
        if name.endswith((".weight", ".bias")):
            return 0.0
        return self.write_time(name, i) + (1e-3 if name in self.young else self.life)


def _tiny():
    """A 4 -> 2 dense layer (no ReLU) and a batch of 2 samples whose inputs are all 0.75 or 1.5."""
    model = Sequential("tiny", [Dense("fc", 4, 2, np.random.default_rng(0))], (1, 1, 4), 2)
    x = np.array([[0.75, 1.5, 0.75, 1.5], [1.5, 0.75, 1.5, 0.75]], np.float32).reshape(2, 1, 1, 4)
    y = np.array([0, 1])
    data = Dataset("tiny", x, y, x, y, 2)
    tensors, schedule = model.describe(momentum=False)
    return model, data, tensors, schedule


def _first_gradient(scheme, clock, cfg):
    """The weight gradient of the first iteration of the tiny model trained through ``scheme``."""
    model, data, tensors, _schedule = _tiny()
    params = [t for t in tensors if t.kind != "intermediate"]
    inter = [t for t in tensors if t.kind == "intermediate"]
    mem = SchemeMemory(scheme, cfg, params, clock=clock, intermediates=inter, batch_size=2)
    tr = Trainer(model, data, SGD(0.1), batch_size=2, seed=0, memory=IdentityMemory(), intermediate=mem)
    tr.step()
    return model.layers[0].grads["weight"].copy(), model.layers[0].grads["bias"].copy(), mem


def test_hand_built_intermediate_decays_and_changes_the_gradient():
    """Deadline law, retention 0.5 s. Under ps every SET is lossy: the input batch (0.75 = 0x3F400000,
    1.5 = 0x3FC00000) read back 1 s after its write has lost every 1-bit, i.e. reads 0.0, so the weight
    gradient grad.T @ x is exactly 0; the bias gradient (which does not read the input) is unchanged.
    (The logits, read by the loss step, are read 1 ms after their write.) Read back 0.25 s after the
    write nothing has decayed and the gradient is the exact one."""
    cfg = load_config(None, ["dap.decay_law=deadline", "dap.retention_s=0.5"])
    g_exact, b_exact, _ = _first_gradient("dcw", FixedClock(1.0, young=["fc.out"]), cfg)
    assert np.abs(g_exact).min() > 0
    g_young, b_young, mem_y = _first_gradient("ps", FixedClock(0.25, young=["fc.out"]), cfg)
    assert g_young.tobytes() == g_exact.tobytes() and b_young.tobytes() == b_exact.tobytes()
    assert mem_y.intermediate_result().decayed_cells == 0
    g_old, b_old, mem = _first_gradient("ps", FixedClock(1.0, young=["fc.out"]), cfg)
    assert np.all(g_old == 0.0)
    assert b_old.tobytes() == b_exact.tobytes()
    ones = bin(0x3F400000).count("1") * 4 + bin(0x3FC00000).count("1") * 4  # the input's 1-bits
    assert mem.intermediate_result().decayed_cells == ones
    assert mem.result().decayed_cells == 0  # weights were read at their write time
    # the logits decayed too (read 1 s late): the loss sees zeros, a uniform softmax
    g_all, b_all, _ = _first_gradient("ps", FixedClock(1.0), cfg)
    assert np.all(g_all == 0.0) and not np.array_equal(b_all, b_exact)


def test_dap_layer_aware_full_sets_data_living_longer_than_retention():
    """The same hand-built case under dap: the input lives 1 s > retention 0.5 s, so the layer-aware
    policy writes it with full SET (nothing lossy, nothing decays, the gradient is exact); living 0.25 s
    it is lossy-SET (and, read in time, exact too)."""
    cfg = load_config(None, ["dap.decay_law=deadline", "dap.retention_s=0.5"])
    g_exact, _, _ = _first_gradient("dcw", FixedClock(1.0), cfg)
    g, _, mem = _first_gradient("dap", FixedClock(1.0), cfg)
    r = mem.intermediate_result()
    assert g.tobytes() == g_exact.tobytes() and r.lossy_set_flips == 0 and r.decayed_cells == 0
    g2, _, mem2 = _first_gradient("dap", FixedClock(0.25), cfg)
    assert g2.tobytes() == g_exact.tobytes() and mem2.intermediate_result().lossy_set_flips > 0


def test_unreprogrammed_intermediate_cells_keep_decaying():
    """dcw-based lossy SET: a 1 that the next write leaves as 1 is not reprogrammed. The same input
    written at 0 s and again at 0.4 s (lifetime 0.2 s < retention 0.5 s: lossy) and read at 0.6 s has
    lost the cells of the first write (0.6 s old), although the data read is only 0.2 s old."""
    cfg = load_config(None, ["dap.decay_law=deadline", "dap.retention_s=0.5"])
    _, _, tensors, _ = _tiny()
    inter = [t for t in tensors if t.name == "input"]
    mem = SchemeMemory("dap", cfg, [], clock=FixedClock(0.2, period_s=0.4), intermediates=inter, batch_size=2)
    x = np.full((2, 1, 1, 4), 1.5, np.float32)
    mem.write_intermediate("input", x)
    assert np.array_equal(mem.read_intermediate("input"), x)  # at 0.2 s
    mem.write_intermediate("input", x)                         # at 0.4 s: nothing to program
    assert np.all(mem.read_intermediate("input") == 0.0)      # at 0.6 s
    assert mem.intermediate_result().decayed_cells == 8 * bin(0x3FC00000).count("1")


def test_exact_schemes_with_intermediate_data_reproduce_the_open_loop():
    wl = WORKLOADS.get("lenet-digits")()
    cfg = load_config(None)

    def run(with_memory):
        model = type(wl).build_model(np.random.default_rng([3, 0]))
        tensors, schedule = model.describe(momentum=True)
        params = [t for t in tensors if t.kind != "intermediate"]
        inter = [t for t in tensors if t.kind == "intermediate"]
        if not with_memory:
            tr = wl.trainer(seed=3)
            return tr.train(ITER), tr.param_row(), None
        mem = SchemeMemory("dcw", cfg, params, clock=IterationClock(0.01, tensors, schedule, 32),
                           intermediates=inter, batch_size=32)
        tr = wl.trainer(seed=3, memory=mem, intermediate=mem)
        return tr.train(ITER), tr.param_row(), mem

    loss0, row0, _ = run(False)
    loss1, row1, mem = run(True)
    assert loss0 == loss1 and row0.tobytes() == row1.tobytes()
    ri = mem.intermediate_result()
    assert ri.iterations == ITER and ri.bit_flips > 0
    # every layer's output and the input batch have lines of their own, after the weights'
    names = [n for n in mem.layout.tensors if not n.endswith((".weight", ".bias"))]
    assert names[0] == "input" and len(names) == 1 + len(type(wl).build_model(np.random.default_rng(0)).layers)
    assert mem.layout.tensor_lines("input")[0] >= mem.result().lines


@settings(max_examples=25, deadline=None)
@given(life=st.floats(1e-4, 1.0), retention=st.floats(1e-4, 1.0), scheme=st.sampled_from(["dap", "ps"]))
def test_layer_aware_policy_never_lossy_sets_data_outliving_retention(life, retention, scheme):
    """dap: intermediate data whose expected lifetime (the clock's read - write time) is not below the
    retention is written with full SET only; ps: lossy SET whatever the lifetime."""
    cfg = load_config(None, [f"dap.retention_s={retention}"])
    spec = TensorSpec("a.out", "a", "intermediate", (16,), bytes_per_sample=64, written_at=0, read_at=1)
    mem = SchemeMemory(scheme, cfg, [], clock=FixedClock(life), intermediates=[spec], batch_size=2)
    masks = mem.stream("a.out").state.masks
    lossy = scheme == "ps" or life < retention
    assert np.all(masks == (ALL_BITS if lossy else 0))
    mem.write_intermediate("a.out", np.full((2, 16), 1.5, np.float32))
    mem.read_intermediate("a.out")
    r = mem.intermediate_result()
    assert (r.lossy_set_flips > 0) == lossy
    if not lossy:
        assert r.decayed_cells == 0


def test_layer_aware_policy_on_lenet_digits_with_the_default_clock():
    """Every intermediate tensor of lenet-digits lives less than one 10 ms iteration (the logits: 0, read
    by the loss step right after the last forward step): under dap all are lossy with the default 0.1 s
    retention; with a retention just below the longest lifetime, exactly the ones living less."""
    wl = WORKLOADS.get("lenet-digits")()
    model = type(wl).build_model(np.random.default_rng(0))
    tensors, schedule = model.describe(momentum=True)
    inter = [t for t in tensors if t.kind == "intermediate"]
    clock = IterationClock(0.01, tensors, schedule, 32)
    lives = {t.name: clock.read_time(t.name, 0) - clock.write_time(t.name, 0) for t in inter}
    assert all(0 <= v < 0.01 for v in lives.values()) and max(lives.values()) > 0.005
    for retention in (0.1, 0.999 * max(lives.values())):
        cfg = load_config(None, [f"dap.retention_s={retention}"])
        mem = SchemeMemory("dap", cfg, [], clock=clock, intermediates=inter, batch_size=32)
        for t in inter:
            assert mem.lifetime_s(t.name) == pytest.approx(lives[t.name])
            masks = mem.stream(t.name).state.masks
            assert np.all(masks == (ALL_BITS if lives[t.name] < retention else 0))


def test_clock_places_intermediate_data_within_the_iteration():
    sched = [Step("load", "input"), Step("forward", "a", 10), Step("loss", "a", 10), Step("backward", "a", 20),
             Step("update", "a", 0, 60)]
    tensors = [TensorSpec("a.weight", "a", "weight", (4,)),
               TensorSpec("input", "input", "intermediate", (4,), bytes_per_sample=16, written_at=0, read_at=3),
               TensorSpec("a.out", "a", "intermediate", (4,), bytes_per_sample=16, written_at=1, read_at=2)]
    c = IterationClock(1.0, tensors, sched, 1)
    assert c.write_time("input", 0) == 0.0 and c.read_time("input", 0) == pytest.approx(0.2)
    assert c.write_time("a.out", 2) == pytest.approx(2.1) and c.read_time("a.out", 2) == pytest.approx(2.1)
    assert c.write_time("a.weight", 0) == pytest.approx(1.0) and c.read_time("a.weight", 0) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="written_at"):
        IterationClock(1.0, [TensorSpec("b", "b", "intermediate", (1,))], sched, 1)


def test_intermediate_errors():
    cfg = load_config(None)
    spec = TensorSpec("a.out", "a", "intermediate", (4,), bytes_per_sample=16, written_at=0, read_at=1)
    mem = SchemeMemory("dap", cfg, [], clock=FixedClock(0.1), intermediates=[spec], batch_size=1)
    with pytest.raises(ConfigError, match="read before"):
        mem.read_intermediate("a.out")
    with pytest.raises(ConfigError, match="not an intermediate"):
        mem.write_intermediate("b.out", np.zeros(4, np.float32))
    with pytest.raises(ConfigError, match="has 3 values"):
        mem.write_intermediate("a.out", np.zeros(3, np.float32))


def test_retention_sweep_figure():
    import pandas as pd

    from plots.dap import retention_sweep_figure

    t = pd.DataFrame({"retention_s": [float("nan")] * 2 + [0.001, 0.001, 0.1, 0.1],
                      "seed": [0, 1, 0, 1, 0, 1], "scheme": ["baseline"] * 2 + ["dap"] * 4,
                      "test_accuracy": [97.0, 98.0, 90.0, 92.0, 97.0, 97.5]})
    fig = retention_sweep_figure(t, lifetime_s=0.009, iteration_time_s=0.01)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "dap (mean)"]
    assert list(line.get_xdata()) == [0.001, 0.1] and list(line.get_ydata()) == [91.0, 97.25]
    with pytest.raises(Exception, match="seed"):
        retention_sweep_figure(t.drop(columns="seed"))
