"""In-situ training cost: the analog trainer (device model, DAC/ADC readout, pulse updates) against the
plain numpy training of the same network, same batch size and data, in one run (the ratio is the figure).

- plain: :class:`workloads.trainer.Trainer` (SGD, float32 weights) on the network of ``--network``;
- in situ: :class:`archsim.analog.train.InSituTrainer` with ``--preset`` (nonlinear model with
  cycle-to-cycle noise), ``--adc-bits`` ADC per subarray column, 8-bit DAC, reference mapping;
- the device kernel alone: :func:`archsim.analog.device.apply_pulses` on every weight, devices per s.

Run:  .venv/bin/python benchmarks/bench_analog.py [--network mlp] [--iterations 400] [--batch 8]
Target (issue 13): in situ / plain <= 3.
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import best_of, machine
from archsim.analog.device import DEVICE_MODELS, DeviceArrays, apply_pulses, label_to_a
from archsim.analog.train import NETWORKS, InSituTrainer
from archsim.config import load_config
from workloads.datasets import load_digits_dataset
from workloads.trainer import SGD, Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", choices=sorted(NETWORKS), default="mlp")
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--preset", default="epiram")
    ap.add_argument("--adc-bits", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data = load_digits_dataset()
    cfg = load_config(None, [f"analog.preset={args.preset}", f"analog.adc_bits={args.adc_bits}",
                             f"analog.network={args.network}", f"analog.batch_size={args.batch}"]).analog

    def plain():
        tr = Trainer(NETWORKS[args.network](np.random.default_rng([0, 0])), data, SGD(0.2),
                     batch_size=args.batch, seed=0)
        for _ in range(args.iterations):
            tr.step()

    def insitu():
        tr = InSituTrainer(cfg, data, seed=0)
        for _ in range(args.iterations):
            tr.step()

    t_plain, t_insitu = float("inf"), float("inf")
    for _ in range(args.repeat):          # interleaved: both see the same machine load
        t_plain = min(t_plain, best_of(plain, 1))
        t_insitu = min(t_insitu, best_of(insitu, 1))
    tr = InSituTrainer(cfg, data, seed=0)
    n_dev = sum(a.pulses.size for a in tr.arrays.values())

    rng = np.random.default_rng(0)
    g = rng.random(n_dev)
    n = rng.integers(-3, 4, n_dev).astype(float)
    dev = DeviceArrays(64, label_to_a(0.5), label_to_a(0.5))
    model = DEVICE_MODELS.get("nonlinear")()
    t_kernel = best_of(lambda: apply_pulses(model, g, n, dev, sigma_c2c=0.02, rng=rng), 20)

    print(f"machine: {machine()}")
    print(f"network {args.network} ({n_dev:,} weight devices), batch {args.batch}, {args.iterations} iterations, "
          f"preset {args.preset}, {args.adc_bits}-bit ADC, 8-bit DAC")
    print(f"plain numpy training : {t_plain:8.3f} s  ({t_plain / args.iterations * 1e6:7.1f} us/iteration)")
    print(f"in-situ training     : {t_insitu:8.3f} s  ({t_insitu / args.iterations * 1e6:7.1f} us/iteration)")
    print(f"ratio in situ / plain: {t_insitu / t_plain:8.2f}   (target <= 3)")
    print(f"device kernel        : {n_dev / t_kernel / 1e6:8.1f} M device updates/s "
          f"({t_kernel * 1e6:.0f} us per update of all {n_dev:,} devices, ~86% pulsed)")


if __name__ == "__main__":
    main()
