"""A PyTorch optimizer wrapper: every weight update of any model passes through an analog device model.

::

    import torch
    from archsim.analog.torch_optim import AnalogOptimizer
    from archsim.config import load_config

    cfg = load_config(None, ["analog.preset=epiram"]).analog
    opt = AnalogOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), cfg, seed=0)
    ...
    loss.backward(); opt.step(); opt.zero_grad()
    opt.summary()          # pulses, programming energy and time, lifetime

After the wrapped optimizer's step, the change it made to every *weight* (a parameter of two or more
dimensions: linear and convolution kernels) is the desired change ``dW``; the weight's devices
(:class:`archsim.analog.array.CrossbarArray`, mapped, rounded and pulsed exactly as in
``archsim analog``) take it as pulses, and the parameter is overwritten with what the devices hold.
torch is imported lazily (``pip install torch==2.13.0``).

Limits: biases, norm scales and other 1-D parameters stay digital; the forward pass is torch's exact
product (no DAC/ADC readout: use ``archsim analog`` for that); the devices live on the CPU in numpy
(parameters on another device are copied each step); the wrapped optimizer's own state (momentum
buffers) is digital, so ``analog.optimizer`` is not used here: the wrapped optimizer is the rule.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from archsim.analog.array import CrossbarArray
from archsim.analog.config import AnalogConfig
from archsim.analog.device import DEVICE_MODELS
from archsim.analog.optim import ROUNDING
from archsim.analog.train import check_section
from archsim.errors import ArchsimError


def _torch():
    try:
        import torch
    except ImportError:
        raise ArchsimError("the PyTorch wrapper needs torch (pip install torch==2.13.0)") from None
    return torch


class AnalogOptimizer:
    """Wraps ``optimizer`` (any ``torch.optim.Optimizer``); weights live on analog devices."""

    def __init__(self, optimizer: Any, config: AnalogConfig | None = None, *, seed: int = 0) -> None:
        torch = _torch()
        self.optimizer = optimizer
        self.config = config if config is not None else AnalogConfig()
        cfg = self.config
        check_section(cfg, seed)
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"AnalogOptimizer wraps a torch optimizer (torch.optim.SGD(model.parameters(), ...)), "
                            f"not {type(optimizer).__name__}")
        device = cfg.device()
        model = DEVICE_MODELS.get(cfg.model.name)(cfg.model.params)
        rounding = ROUNDING.get(cfg.rounding.name)(cfg.rounding.params)
        rng = np.random.default_rng([seed, 3])
        self.arrays: dict[int, CrossbarArray] = {}
        self._params: list[Any] = []
        with torch.no_grad():
            for gi, group in enumerate(optimizer.param_groups):
                for pi, p in enumerate(group["params"]):
                    if p.dim() < 2:
                        continue
                    w0 = p.detach().cpu().numpy().astype(np.float32)
                    arr = CrossbarArray(f"group{gi}.param{pi}", w0, cfg, device, model, rounding, rng)
                    self.arrays[id(p)] = arr
                    self._params.append(p)
                    p.copy_(torch.from_numpy(arr.weights()).to(p.device, p.dtype))

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """The wrapped step, then every weight's change applied as pulses; returns the closure's loss."""
        torch = _torch()
        before = {id(p): p.detach().cpu().numpy().astype(np.float32).copy() for p in self._params}
        loss = self.optimizer.step(closure) if closure is not None else self.optimizer.step()
        with torch.no_grad():
            for p in self._params:
                arr = self.arrays[id(p)]
                arr.update(p.detach().cpu().numpy().astype(np.float32) - before[id(p)])
                p.copy_(torch.from_numpy(arr.weights()).to(p.device, p.dtype))
        return loss

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def summary(self) -> dict[str, Any]:
        """Pulses, programming energy and time over all weights (units in the names)."""
        arrays = list(self.arrays.values())
        if not arrays:
            return {"devices": 0}
        pulses = np.concatenate([a.pulses.reshape(-1) for a in arrays])
        worst = int(pulses.max())
        updates = max(a.counters.updates for a in arrays)
        return {"devices": int(pulses.size), "updates": updates,
                "ltp_pulses": sum(a.counters.ltp_pulses for a in arrays),
                "ltd_pulses": sum(a.counters.ltd_pulses for a in arrays),
                "max_device_pulses": worst, "mean_device_pulses": float(pulses.mean()),
                "programming_energy_pj": sum(a.counters.programming_energy_pj for a in arrays),
                "programming_time_ns": sum(a.counters.programming_time_ns for a in arrays),
                "lifetime_updates": self.config.endurance_pulses * updates / worst if worst else float("inf")}
