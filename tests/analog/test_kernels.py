"""The compiled arrays (archsim._analog_kernels) against their numpy reference, bit for bit (Hypothesis).

Every device model (the four built-ins and a user's model without a compiled form), every rounding
rule (the three built-ins and a user's rule), both mappings, device-to-device and cycle-to-cycle
variation, subarray tiling; the readout with every ADC/DAC setting, both ADC ranges, negative inputs.
"Equal" is equal bits: states, pulse counts, every counter, the weights and the readout's output.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim import _analog_kernels as K
from archsim.analog.array import CrossbarArray
from archsim.analog.device import DEVICE_MODELS, ConstantStepParams, LinearStepParams, Nonlinear
from archsim.analog.optim import ROUNDING, Rounding, Truncate
from archsim.analog.train import InSituTrainer
from archsim.config import load_config
from workloads.datasets import load_digits_dataset


class UserModel(Nonlinear):
    """A user's model: redefines apply, so it has no compiled form (the generic path runs it)."""

    def apply(self, g, n, dev):
        return np.where(n > 0, g + 0.7 * n / dev.levels * (1.0 - g), g + 1.3 * n / dev.levels * g)


class UserRounding(Truncate):
    """A user's rule: redefines __call__, so the kernel receives its pulses."""

    def __call__(self, x, rng):
        return np.sign(x) * np.floor(np.abs(x) + 0.25)


MODELS = {
    "nonlinear": lambda: DEVICE_MODELS.get("nonlinear")(),
    "constant-step": lambda: DEVICE_MODELS.get("constant-step")(ConstantStepParams(up_down=0.3)),
    "linear-step": lambda: DEVICE_MODELS.get("linear-step")(LinearStepParams(gamma_up=0.6, gamma_down=0.2)),
    "linear-step-linear-up": lambda: DEVICE_MODELS.get("linear-step")(LinearStepParams(gamma_up=0.0)),
    "soft-bounds": lambda: DEVICE_MODELS.get("soft-bounds")(),
    "user": lambda: UserModel(),
}
ROUNDINGS = {"truncate": lambda: ROUNDING.get("truncate")(), "round": lambda: ROUNDING.get("round")(),
             "stochastic": lambda: ROUNDING.get("stochastic")(), "user": lambda: UserRounding()}


def _pair(w0, sets, model, rounding, seed=0):
    """The same array twice, numpy reference and compiled, each with its own identical generator."""
    cfg = load_config(None, list(sets)).analog
    dev = cfg.device()
    out = []
    for compiled in (False, True):
        w_out = np.zeros_like(w0)
        out.append((CrossbarArray("t", w0.copy(), cfg, dev, MODELS[model](), ROUNDINGS[rounding](),
                                  np.random.default_rng(seed), compiled=compiled, weights_out=w_out), w_out))
    return out


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _assert_same(ref, fast):
    (r, rw), (f, fw) = ref, fast
    assert _same_bits(r.g, f.g)
    assert _same_bits(r.pulses, f.pulses)
    assert dataclasses.asdict(r.counters) == dataclasses.asdict(f.counters)
    assert _same_bits(r.weights(), f.weights())
    assert _same_bits(rw, fw) and _same_bits(rw, r.weights())


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(MODELS)), st.sampled_from(sorted(ROUNDINGS)),
       st.sampled_from(["reference", "differential"]), st.sampled_from(["ideal", "epiram", "pcmo", "ag-si"]),
       st.integers(1, 24), st.integers(1, 40), st.integers(1, 16), st.integers(1, 16),
       st.sampled_from([0.0, 0.3]), st.sampled_from([None, 0.0, 0.04]), st.integers(0, 2 ** 16),
       st.sampled_from([0.3, 1.0, 4.0]))
def test_compiled_update_equals_the_reference(model, rounding, mapping, preset, n_out, n_in, rows, cols, d2d,
                                              c2c, seed, size):
    rng = np.random.default_rng(seed)
    w0 = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
    sets = [f"analog.preset={preset}", f"analog.mapping={mapping}", f"analog.rows={rows}", f"analog.cols={cols}",
            f"analog.sigma_d2d={d2d}"] + ([f"analog.sigma_c2c={c2c}"] if c2c is not None else [])
    ref, fast = _pair(w0, sets, model, rounding, seed)
    _assert_same(ref, fast)
    step = ref[0].bound * ref[0].step_u
    for t in range(6):
        dw = rng.standard_normal((n_out, n_in)) * step * size
        dw[rng.random(dw.shape) < 0.3] = 0.0
        if t == 3:
            dw = np.full_like(dw, 1e3 * step)                # beyond +-P_max: clipped
        dw = dw.astype(np.float64 if t == 4 else np.float32)  # float64: the rule in numpy, the rest compiled
        ref[0].update(dw)
        fast[0].update(dw)
        _assert_same(ref, fast)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["reference", "differential"]), st.sampled_from(["full-scale", "calibrated"]),
       st.sampled_from([0, 1, 4, 8, 12]), st.sampled_from([0, 1, 5, 8]), st.integers(1, 12), st.integers(1, 30),
       st.integers(1, 70), st.integers(1, 80), st.sampled_from(["nonneg", "signed", "zeros", "one-hot"]),
       st.integers(0, 2 ** 16), st.booleans())
def test_compiled_readout_equals_the_reference(mapping, adc_range, adc_bits, dac_bits, batch, n_out, n_in, rows,
                                               inputs, seed, train):
    rng = np.random.default_rng(seed)
    w0 = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
    sets = ["analog.preset=ag-si", f"analog.mapping={mapping}", f"analog.adc_range={adc_range}",
            f"analog.adc_bits={adc_bits}", f"analog.dac_bits={dac_bits}", f"analog.rows={rows}"]
    ref, fast = _pair(w0, sets, "nonlinear", "round", seed)
    for _ in range(2):
        x = rng.random((batch, n_in)).astype(np.float32)
        if inputs == "signed":
            x -= np.float32(0.4)
        elif inputs == "zeros":
            x[...] = 0
        elif inputs == "one-hot":
            x[...] = 0
            x[:, rng.integers(n_in)] = 1
        assert _same_bits(ref[0].mac(x, train), fast[0].mac(x, train))
        _assert_same(ref, fast)
        dw = (rng.standard_normal((n_out, n_in)) * ref[0].bound * ref[0].step_u * 3).astype(np.float32)
        ref[0].update(dw)
        fast[0].update(dw)


def test_compiled_forms_name_the_built_ins_only():
    assert DEVICE_MODELS.get("nonlinear")().kernel() == (K.MODEL_NONLINEAR, ())
    assert DEVICE_MODELS.get("soft-bounds")().kernel() == (K.MODEL_SOFT_BOUNDS, ())
    assert DEVICE_MODELS.get("constant-step")(ConstantStepParams(up_down=0.25)).kernel() == \
        (K.MODEL_CONSTANT_STEP, (0.25,))
    assert UserModel().kernel() == (K.MODEL_GENERIC, ())            # redefines apply: generic path
    assert [ROUNDING.get(n)().kernel_mode() for n in ("truncate", "round", "stochastic")] == \
        [K.ROUND_TRUNCATE, K.ROUND_NEAREST, K.ROUND_STOCHASTIC]
    assert UserRounding().kernel_mode() == K.ROUND_GIVEN

    class Plain(Rounding):
        def __call__(self, x, rng):
            return np.trunc(x)
    assert Plain().kernel_mode() == K.ROUND_GIVEN


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 20000), st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 16))
def test_pairwise_sum_is_numpys(n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = (rng.random(n) * 10.0 ** rng.integers(-6, 6, n)).astype(dtype)
    assert _same_bits(np.asarray(K.pairwise_sum(a), dtype), np.sum(a))


@pytest.mark.parametrize("ufunc", [np.log1p, np.expm1])
def test_numpys_transcendentals_do_not_depend_on_the_position(ufunc):
    """The premise of the kernels' bit-identity: an element's result is the same in any array, slice
    or 0-d array (numpy's SIMD loops; the kernels call them on their own buffers)."""
    rng = np.random.default_rng(1)
    x = -rng.random(4099) * 0.99
    full = ufunc(x)
    for k in range(0, 4099, 13):
        assert _same_bits(ufunc(x[k:]), full[k:])
        assert _same_bits(ufunc(x[k:k + 1]), full[k:k + 1])
        assert ufunc(np.float64(x[k])) == full[k]
    n = rng.integers(0, 100, 4099).astype(np.float64)
    powers = np.power(0.97, n)
    assert all(_same_bits(np.power(0.97, n[k:]), powers[k:]) for k in range(0, 4099, 13))


@pytest.mark.parametrize("sets", [
    ["analog.preset=epiram"],
    ["analog.preset=pcmo", "analog.rounding=stochastic", "analog.optimizer=momentum",
     "analog.mapping=differential", "analog.sigma_d2d=0.2"],
    ["analog.preset=epiram", "analog.network=cnn", "analog.adc_range=calibrated", "analog.batch_size=4"],
])
def test_compiled_training_is_the_reference_training(sets):
    data = load_digits_dataset()
    cfg = load_config(None, sets).analog
    runs = []
    for compiled in (False, True):
        tr = InSituTrainer(cfg, data, seed=5, compiled=compiled)
        losses = [tr.step() for _ in range(25 if cfg.network == "mlp" else 6)]
        runs.append((losses, tr))
    (la, a), (lb, b) = runs
    assert la == lb
    for name in a.arrays:
        assert _same_bits(a.arrays[name].g, b.arrays[name].g)
        assert dataclasses.asdict(a.arrays[name].counters) == dataclasses.asdict(b.arrays[name].counters)
    for (_, _, _, wa), (_, _, _, wb) in zip(a._params, b._params):
        assert _same_bits(wa, wb)
