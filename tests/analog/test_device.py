"""Device models against plain per-pulse references (Hypothesis), and the label -> A conversion."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.analog.device import DEVICE_MODELS, DeviceArrays, apply_pulses, label_to_a
from archsim.analog.device import ConstantStepParams, LinearStepParams
from archsim.errors import ConfigError


@pytest.mark.parametrize("label, a", [(1, 1.2517), (2.4, 0.4992), (4.88, 0.2003), (-4.88, 0.2003)])
def test_label_to_a_reproduces_neurosim_table(label, a):
    assert round(label_to_a(label), 4) == a


def test_label_to_a_vectorised_and_linear_limit():
    arr = label_to_a(np.array([1.0, 2.4, 4.88]))
    assert np.allclose(arr, [label_to_a(1.0), label_to_a(2.4), label_to_a(4.88)])
    assert label_to_a(0.0) > 1e6
    assert label_to_a(0.5) > label_to_a(1.0) > label_to_a(2.0)   # more nonlinear: smaller A
    with pytest.raises(ConfigError, match="below"):
        label_to_a(12.0)


# ------------------------------------------------------------------ plain references (one pulse at a time)
def ref_nonlinear(G, pulses, P, A_ltp, A_ltd, gmin, gmax):
    """NeuroSim's curves in conductance and pulse units, one pulse at a time (plain Python)."""
    for n in pulses:
        for _ in range(abs(n)):
            if n > 0:
                B = (gmax - gmin) / (1 - math.exp(-P / A_ltp))
                p = -A_ltp * math.log(1 - (G - gmin) / B)
                p = min(p + 1, P)
                G = B * (1 - math.exp(-p / A_ltp)) + gmin
            else:
                B = (gmax - gmin) / (1 - math.exp(-P / A_ltd))
                p = P + A_ltd * math.log(1 - (gmax - G) / B)
                p = max(p - 1, 0)
                G = -B * (1 - math.exp((p - P) / A_ltd)) + gmax
    return G


def ref_step(g, pulses, up, down):
    """A per-pulse step model ``up(g)``, ``down(g)``, clipped to [0, 1] after each update."""
    for n in pulses:
        for _ in range(abs(n)):
            g = g + up(g) if n > 0 else g - down(g)
        g = min(max(g, 0.0), 1.0)
    return g


def run_model(model, g0, pulses, dev):
    g = np.array([g0])
    for n in pulses:
        g = apply_pulses(model, g, np.array([float(n)]), dev)
    return float(g[0])


labels = st.floats(0.0, 6.0)
pulse_seq = st.lists(st.integers(-60, 60), min_size=1, max_size=8)


@settings(max_examples=30, deadline=None)
@given(st.integers(8, 200), labels, labels, st.floats(0.0, 1.0), pulse_seq)
def test_nonlinear_matches_per_pulse_reference(P, lab_p, lab_d, g0, pulses):
    gmin, gmax = 1.0, 10.0
    a_p, a_d = label_to_a(lab_p), label_to_a(lab_d)
    A_p, A_d = min(a_p, 1e4) * P, min(a_d, 1e4) * P
    G = ref_nonlinear(gmin + g0 * (gmax - gmin), pulses, P, A_p, A_d, gmin, gmax)
    dev = DeviceArrays(P, min(a_p, 1e4), min(a_d, 1e4))
    got = run_model(DEVICE_MODELS.get("nonlinear")(), g0, pulses, dev)
    assert got == pytest.approx((G - gmin) / (gmax - gmin), abs=1e-7)


@settings(max_examples=30, deadline=None)
@given(st.integers(8, 200), labels, st.floats(0.0, 1.0), st.integers(1, 300))
def test_up_then_down_returns_as_the_model_says(P, lab, g0, n):
    """n pulses up then n down: a linear device returns to its start unless a bound clipped it; a
    nonlinear one lands where its two curves (the reference) put it: not at the start."""
    model = DEVICE_MODELS.get("nonlinear")()
    a = min(label_to_a(lab), 1e4)
    dev = DeviceArrays(P, a, a)
    got = run_model(model, g0, [n, -n], dev)
    A = a * P
    want = ref_nonlinear(g0, [n, -n], P, A, A, 0.0, 1.0)
    assert got == pytest.approx(want, abs=1e-7)
    assert 0 <= got <= 1
    if lab == 0 and g0 + n / P <= 1:       # linear and not clipped: back to the start
        exact = DeviceArrays(P, label_to_a(0.0), label_to_a(0.0))
        assert run_model(model, g0, [n, -n], exact) == pytest.approx(g0, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(8, 200), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), pulse_seq)
def test_linear_step_matches_reference(P, gu, gd, g0, pulses):
    model = DEVICE_MODELS.get("linear-step")(LinearStepParams(gu, gd))
    s = 1.0 / P
    want = ref_step(g0, pulses, lambda g: s * (1 - gu * g), lambda g: s * (1 - gd * (1 - g)))
    assert run_model(model, g0, pulses, DeviceArrays(P, 1.0, 1.0)) == pytest.approx(want, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(8, 200), st.floats(0.0, 1.0), pulse_seq)
def test_soft_bounds_matches_reference(P, g0, pulses):
    s = 1.0 / P
    want = ref_step(g0, pulses, lambda g: s * (1 - g), lambda g: s * g)
    got = run_model(DEVICE_MODELS.get("soft-bounds")(), g0, pulses, DeviceArrays(P, 1.0, 1.0))
    assert got == pytest.approx(want, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(8, 200), st.floats(-0.9, 0.9), st.floats(0.0, 1.0), pulse_seq)
def test_constant_step_matches_reference(P, ud, g0, pulses):
    s = 1.0 / P
    model = DEVICE_MODELS.get("constant-step")(ConstantStepParams(ud))
    want = ref_step(g0, pulses, lambda g: s * (1 + ud), lambda g: s * (1 - ud))
    assert run_model(model, g0, pulses, DeviceArrays(P, 1.0, 1.0)) == pytest.approx(want, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["nonlinear", "linear-step", "soft-bounds", "constant-step"]), st.integers(4, 100),
       st.floats(0.0, 0.3), st.integers(0, 2**31 - 1))
def test_bounds_never_crossed_with_noise(name, P, sigma, seed):
    rng = np.random.default_rng(seed)
    model = DEVICE_MODELS.get(name)()
    dev = DeviceArrays(P, label_to_a(rng.uniform(0, 6, 64)), label_to_a(rng.uniform(0, 6, 64)))
    g = rng.random(64)
    for _ in range(20):
        n = rng.integers(-3 * P, 3 * P, 64).astype(float) * (rng.random(64) < 0.7)
        g = apply_pulses(model, g, n, dev, sigma_c2c=sigma, rng=rng)
        assert np.all((g >= 0) & (g <= 1))


def test_only_pulsed_devices_change_and_noise_is_seeded():
    model = DEVICE_MODELS.get("nonlinear")()
    dev = DeviceArrays(64, label_to_a(2.0), label_to_a(3.0))
    g = np.linspace(0.1, 0.9, 10)
    n = np.array([0, 3, 0, -2, 0, 0, 5, 0, 0, -1], float)
    a = apply_pulses(model, g, n, dev, sigma_c2c=0.05, rng=np.random.default_rng(7))
    b = apply_pulses(model, g, n, dev, sigma_c2c=0.05, rng=np.random.default_rng(7))
    c = apply_pulses(model, g, n, dev, sigma_c2c=0.05, rng=np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a[n == 0], g[n == 0])
