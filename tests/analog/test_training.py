"""In-situ training: the ideal device trains like software; readout and variation behave as specified."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.analog.array import CrossbarArray
from archsim.analog.config import AnalogConfig
from archsim.analog.device import DEVICE_MODELS
from archsim.analog.optim import ROUNDING
from archsim.analog.train import InSituTrainer, train
from archsim.config import load_config
from archsim.errors import ArchsimError, ConfigError
from workloads.datasets import load_digits_dataset


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset()


def _cfg(*sets):
    return load_config(None, list(sets)).analog


def _array(cfg, w, seed=0):
    return CrossbarArray("t", w, cfg, cfg.device(), DEVICE_MODELS.get(cfg.model.name)(cfg.model.params),
                         ROUNDING.get(cfg.rounding.name)(), np.random.default_rng(seed))


def test_ideal_device_with_ideal_readout_trains_like_software(digits):
    sets = ["analog.preset=ideal", "analog.levels=8192", "analog.adc_bits=0", "analog.dac_bits=0",
            "analog.rounding=round", "analog.epochs=3", "analog.batch_size=16"]
    accs = []
    for seed in (0, 1):
        insitu = train(_cfg(*sets), seed=seed, data=digits)
        soft = train(_cfg(*sets), seed=seed, data=digits, analog=False)
        accs.append((insitu.test_accuracy, soft.test_accuracy))
        assert soft.test_accuracy > 0.88
    gap = np.mean([a - b for a, b in accs])
    assert abs(gap) < 0.02, accs


def test_a_nonlinear_asymmetric_device_costs_accuracy(digits):
    ideal = train(_cfg("analog.epochs=2", "analog.batch_size=16"), seed=0, data=digits)
    pcmo = train(_cfg("analog.epochs=2", "analog.batch_size=16", "analog.preset=pcmo"), seed=0, data=digits)
    assert pcmo.test_accuracy < ideal.test_accuracy - 0.1
    assert pcmo.summary["ltp_pulses"] > 0 and pcmo.summary["ltd_pulses"] > 0


def test_readout_quantisation_converges_to_the_exact_product():
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((20, 50)) * 0.2).astype(np.float32)
    x = rng.random((16, 50)).astype(np.float32)
    errs = {}
    for bits in (3, 6, 12):
        for mapping in ("reference", "differential"):
            arr = _array(_cfg(f"analog.adc_bits={bits}", "analog.dac_bits=0", f"analog.mapping={mapping}",
                              "analog.adc_range=calibrated"), w)
            exact = x @ arr.weights().reshape(20, 50).T
            errs[bits, mapping] = float(np.abs(arr.mac(x) - exact).max() / np.abs(exact).max())
    for mapping in ("reference", "differential"):
        assert errs[3, mapping] > errs[6, mapping] > errs[12, mapping]
        assert errs[12, mapping] < 5e-3
    ideal = _array(_cfg("analog.adc_bits=0", "analog.dac_bits=0"), w)
    assert np.allclose(ideal.mac(x), x @ ideal.weights().T, rtol=1e-5, atol=1e-6)


def test_adc_hand_computed_case():
    """One 2 x 1 column, reference mapping, 2-bit full-scale ADC, on/off 2: currents in units of Gmax V."""
    cfg = _cfg("analog.adc_bits=2", "analog.dac_bits=0", "analog.on_off=2", "analog.weight_bound_std=1")
    b = np.sqrt(2.0 / 2)                   # weight bound: 1 x sqrt(2 / fan_in)
    arr = _array(cfg, np.array([[b, 0.0]], np.float32))   # u = 1 (g = 1), u = 0 (g = 0.5)
    x = np.array([[1.0, 1.0]], np.float32)
    # G/Gmax = 0.5 + g / 2: cells 1.0 and 0.75 -> I = 1.75; reference 0.75 per row -> 1.5.
    # full scale 2 rows, 3 steps of 2/3: I -> 2 (3 steps), ref -> 4/3 (2 steps); difference 2/3 over
    # the span 1/2 of G/Gmax, x 2 for the reference mapping -> u-sum 8/3, x bound and xmax.
    assert arr.mac(x)[0, 0] == pytest.approx(8 / 3 * b, rel=1e-6)
    assert arr.counters.adc_conversions == 2  # the column and the reference column


def test_update_counts_pulses_energy_and_time():
    cfg = _cfg("analog.preset=epiram", "analog.sigma_c2c=0", "analog.rows=2", "analog.cols=2")
    w = np.zeros((2, 4), np.float32)
    arr = _array(cfg, w)
    step = arr.bound * arr.step_u
    dw = np.array([[3, -2, 0, 0], [1, 0, 0, -4]], float) * step * 1.0001
    arr.update(dw)
    c = arr.counters
    assert (c.ltp_pulses, c.ltd_pulses) == (4, 6)
    assert arr.pulses.max() == 4
    # rows of a 2 x 2 subarray one at a time (LTP phase then LTD); subarrays in parallel:
    # inputs 0-1 x outputs 0-1: row 0 LTP 3, row 1 LTD 2 -> 5 pulses; inputs 2-3: row 3 LTD 4 -> 4
    assert c.programming_time_ns == pytest.approx(5 * 5e3)
    assert c.programming_energy_pj > 0


def test_variation_is_seeded_and_reproducible(digits):
    sets = ["analog.preset=ag-si", "analog.sigma_d2d=0.2", "analog.epochs=1", "analog.rounding=stochastic"]
    a = InSituTrainer(_cfg(*sets), digits, seed=3)
    b = InSituTrainer(_cfg(*sets), digits, seed=3)
    c = InSituTrainer(_cfg(*sets), digits, seed=4)
    assert np.array_equal(a.arrays["fc1.weight"].dev.a_ltp, b.arrays["fc1.weight"].dev.a_ltp)
    assert not np.array_equal(a.arrays["fc1.weight"].dev.a_ltp, c.arrays["fc1.weight"].dev.a_ltp)
    for _ in range(5):
        a.step(), b.step(), c.step()
    assert np.array_equal(a.arrays["fc1.weight"].g, b.arrays["fc1.weight"].g)
    assert not np.array_equal(a.arrays["fc1.weight"].g, c.arrays["fc1.weight"].g)


def test_cnn_trains_in_situ(digits):
    r = train(_cfg("analog.network=cnn", "analog.epochs=1", "analog.batch_size=32"), seed=0, data=digits)
    assert r.test_accuracy > 0.2          # learning (chance: 0.1)
    assert r.summary["devices"] == 54 + 864 + 64 * 120 + 120 * 84 + 84 * 10


@pytest.mark.parametrize("kw, message", [
    ({"mapping": "Differential"}, "analog.mapping must be one of reference, differential, not 'Differential'"),
    ({"g_max_us": -10.0}, "analog.g_max_us must be positive"),
    ({"adc_bits": 40}, r"analog.adc_bits must be in 0..24"),
])
def test_a_section_built_by_hand_gets_the_checks_of_load_config(kw, message):
    # AnalogConfig(...) skipped them: an unknown mapping trained as "reference", a negative g_max gave negative energies
    with pytest.raises(ConfigError, match=message):
        train(AnalogConfig(epochs=1, **kw), seed=0)
    with pytest.raises(ConfigError, match=r"seed must be in 0..2\*\*63-1"):
        train(AnalogConfig(epochs=1), seed=-1)
    with pytest.raises(TypeError, match="needs an AnalogConfig"):
        train({"epochs": 1}, seed=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_weight_change_is_one_error(bad):
    # it was applied: NaN pulses counted as -2**63 (negative mean pulses, NaN energy), silently
    arr = _array(_cfg(), np.zeros((4, 3), np.float32))
    dw = np.full((4, 3), 0.01, np.float32)
    dw[1, 2] = bad
    with pytest.raises(ArchsimError, match="analog array t: a weight change holds a non-finite value"):
        arr.update(dw)
    assert arr.counters.updates == 0


def test_an_overflowing_learning_rate_is_one_error_without_a_numpy_warning():
    import warnings

    from archsim.analog.optim import OPTIMISERS

    opt = OPTIMISERS.get("sgd")(OPTIMISERS.get("sgd").Params(lr=1e30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a RuntimeWarning (overflow) would fail here
        dw = opt.delta("t", np.full((2, 2), 1e30, np.float32))
    assert not np.isfinite(dw).all()   # the array then refuses it (test above)


def test_a_batch_larger_than_the_training_samples_is_one_error():
    data = load_digits_dataset()
    with pytest.raises(ConfigError, match=rf"analog.batch_size must be in 1..{len(data.x_train)} \(the training "
                                          r"samples\), not 100000"):
        InSituTrainer(AnalogConfig(batch_size=100000), data, seed=0)
