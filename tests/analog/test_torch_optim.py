"""The PyTorch wrapper: weight updates become pulses on analog devices (needs torch)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from archsim.analog.torch_optim import AnalogOptimizer  # noqa: E402
from archsim.config import load_config  # noqa: E402

pytestmark = pytest.mark.torch


def _fit(sets, steps=60):
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = x @ torch.randn(8, 1) * 0.3
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    opt = AnalogOptimizer(torch.optim.SGD(model.parameters(), lr=0.05), load_config(None, sets).analog, seed=0)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = float(torch.nn.functional.mse_loss(model(x), y))
    return final, opt, model


def test_weights_are_what_the_devices_hold_and_training_works():
    loss_ideal, opt, model = _fit(["analog.preset=ideal", "analog.levels=4096", "analog.rounding=stochastic"])
    w = model[0].weight.detach().numpy()
    arr = next(iter(opt.arrays.values()))
    assert np.array_equal(w, arr.weights())
    assert len(opt.arrays) == 2                      # the two weight matrices; biases digital
    s = opt.summary()
    assert s["ltp_pulses"] > 0 and s["ltd_pulses"] > 0 and s["updates"] == 60
    loss_bad, *_ = _fit(["analog.preset=pcmo"])
    assert loss_ideal < 0.5 * loss_bad


def test_it_wraps_an_optimizer_and_names_anything_else():
    with pytest.raises(TypeError, match=r"wraps a torch optimizer .* not Linear"):
        AnalogOptimizer(torch.nn.Linear(4, 3))   # an AttributeError (param_groups) before
