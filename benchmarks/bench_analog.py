"""In-situ training cost: the analog trainer (device model, DAC/ADC readout, pulse updates) against the
plain numpy training of the same network, same batch size and data, in one run (the ratio is the figure).

- plain: :class:`workloads.trainer.Trainer` (SGD, float32 weights) on the network of ``--network``;
- in situ, before: :class:`archsim.analog.train.InSituTrainer` with ``compiled=False``, the arrays' numpy
  reference (what archsim did before the Cython kernels);
- in situ, after: the same trainer with the compiled arrays (:mod:`archsim._analog_kernels`, the default);
  both with ``--preset`` (nonlinear model with cycle-to-cycle noise), ``--adc-bits`` ADC per subarray
  column, 8-bit DAC, reference mapping. The two are checked to train bit for bit the same.
- the device update alone: one ``CrossbarArray.update`` that pulses ~86% of the devices of every layer
  (rounding, model, noise, counters), numpy reference and compiled, devices per s.

Run:  .venv/bin/python benchmarks/bench_analog.py [--network mlp] [--iterations 400] [--batch 8]
Target (issue 13): in situ / plain <= 3.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from _common import best_of, machine
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

    def insitu(compiled: bool):
        tr = InSituTrainer(cfg, data, seed=0, compiled=compiled)
        for _ in range(args.iterations):
            tr.step()
        return tr

    # the two in-situ paths train the same (bit for bit): checked once, on the run being timed
    a, b = insitu(False), insitu(True)
    same = all(np.array_equal(x.g, y.g) and np.array_equal(x.pulses, y.pulses) and vars(x.counters) == vars(y.counters)
               for x, y in zip(a.arrays.values(), b.arrays.values()))

    # wall clock and this process's CPU time (on a shared machine the CPU time is the steadier figure)
    t = {k: float("inf") for k in ("plain", "before", "after")}
    cpu = dict(t)
    runs = {"plain": plain, "before": lambda: insitu(False), "after": lambda: insitu(True)}
    for _ in range(args.repeat):          # interleaved: all see the same machine load
        for key, fn in runs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            t[key] = min(t[key], time.perf_counter() - w0)
            cpu[key] = min(cpu[key], time.process_time() - c0)

    # the device update alone: steps of about +-3 pulses on every device of every layer
    rng = np.random.default_rng(0)
    dws = {name: (rng.integers(-3, 4, arr.shape) * arr.bound * arr.step_u).astype(np.float32)
           for name, arr in b.arrays.items()}
    n_dev = sum(arr.pulses.size for arr in b.arrays.values())
    t_kernel = {}
    for compiled in (False, True):
        arrays = InSituTrainer(cfg, data, seed=0, compiled=compiled).arrays
        t_kernel[compiled] = best_of(lambda: [arrays[k].update(dw) for k, dw in dws.items()], 20)

    it = args.iterations
    print(f"machine: {machine()}")
    print(f"network {args.network} ({n_dev:,} weight devices), batch {args.batch}, {it} iterations, "
          f"preset {args.preset}, {args.adc_bits}-bit ADC, 8-bit DAC; best of {args.repeat}, interleaved")
    print("wall clock, best of the repeats:")
    print(f"plain numpy training          : {t['plain']:8.3f} s  ({t['plain'] / it * 1e6:7.1f} us/iteration)")
    print(f"in situ, numpy (before)       : {t['before']:8.3f} s  ({t['before'] / it * 1e6:7.1f} us/iteration)"
          f"   ratio {t['before'] / t['plain']:5.2f}")
    print(f"in situ, compiled (after)     : {t['after']:8.3f} s  ({t['after'] / it * 1e6:7.1f} us/iteration)"
          f"   ratio {t['after'] / t['plain']:5.2f}   (target <= 3)")
    print(f"CPU time, ratio to plain      : before {cpu['before'] / cpu['plain']:5.2f}, "
          f"after {cpu['after'] / cpu['plain']:5.2f}   (plain {cpu['plain'] / it * 1e6:.1f} us/iteration)")
    print(f"speed-up of the in-situ step  : {t['before'] / t['after']:8.2f} x   "
          f"(same numbers bit for bit: {'yes' if same else 'NO'})")
    for compiled, label in ((False, "numpy  "), (True, "compiled")):
        print(f"device update, {label}       : {n_dev / t_kernel[compiled] / 1e6:8.1f} M devices/s "
              f"({t_kernel[compiled] * 1e6:.0f} us for all {n_dev:,} devices, ~86% pulsed)")
    if not same:
        raise SystemExit("the compiled and the numpy in-situ training differ")


if __name__ == "__main__":
    main()
