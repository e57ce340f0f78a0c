"""``archsim analog``: train a network in situ on analog eNVM synapses, per preset x optimiser x ADC bits."""
from __future__ import annotations

import argparse
import sys
import time

from archsim.cli._common import add_config, add_outputs, add_seed, default_out_dir, names
from archsim.errors import ConfigError


def _list(text: str, what: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise ConfigError(f"--{what}: give at least one value")
    return items


def _ints(text: str, what: str, *, ideal: bool = False) -> list[int]:
    out = []
    for s in _list(text, what):
        if ideal and s in ("ideal", "none"):
            out.append(0)
            continue
        try:
            out.append(int(s))
        except ValueError:
            raise ConfigError(f"--{what}: {s!r} is not an integer") from None
    return out


HELP = "in-situ training on analog eNVM synapses (presets x optimisers x ADC bits) vs software"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analog", help=HELP,
        description="Train the digits MLP (64-100-10) or CNN with its weights as conductances of eNVM devices in "
                    "crossbar subarrays (forward through DAC and ADC, digital backward, updates as programming "
                    "pulses), for every preset x optimiser x ADC setting x seed, beside the software baseline of "
                    "the same network, optimiser, seed and data. Writes DIR/analog.csv (one row per point: "
                    "accuracies in %, pulses, programming energy and time, ADC conversions, lifetime), "
                    "DIR/analog_curves.csv (accuracy per epoch), figures and config.toml. Runs in parallel "
                    "(--jobs); finished runs are kept in DIR/.checkpoints and skipped on a rerun.")
    add_config(p, example="analog.sigma_d2d=0.1")
    p.add_argument("--presets", action="append", metavar="A,B,...",
                   help="device presets, the schemes of this command (default: analog.preset)")
    p.add_argument("--optimizers", action="append", metavar="A,B,...", help="optimisers (default: analog.optimizer)")
    p.add_argument("--adc-bits", action="append", metavar="N,M,...", help="ADC resolutions, 0 or 'ideal' = ideal readout "
                                                         "(default: analog.adc_bits)")
    p.add_argument("--vary", action="append", default=[], metavar="analog.KEY=V1,V2,...",
                   help="add a grid axis over any analog.* key (repeatable), e.g. analog.ltd_label=0,2,4")
    p.add_argument("--epochs", type=int, metavar="E", help="training epochs (default: analog.epochs)")
    p.add_argument("--network", choices=("mlp", "cnn"), help="network (default: analog.network)")
    add_seed(p)
    p.add_argument("--seeds", default=None, metavar="S,T,...", help="several seeds, a grid axis (default: run.seed)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    add_outputs(p, resumable=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archsim.analog.experiment import grid, run_analog
    from archsim.config import load_config, parse_value
    from archsim.outputs import OutputFolder

    changes = {}
    if args.epochs is not None:
        changes["analog.epochs"] = args.epochs
    if args.network is not None:
        changes["analog.network"] = args.network
    if args.seed is not None:
        changes["run.seed"] = args.seed
    cfg = load_config(args.config, args.overrides, changes)
    axes: dict[str, list] = {}
    for key, values, option in (("analog.preset", args.presets, "--presets"),
                                ("analog.optimizer", args.optimizers, "--optimizers")):
        given = names(values, option)
        if given is not None:
            axes[key] = given
    if args.adc_bits is not None:
        axes["analog.adc_bits"] = list(dict.fromkeys(_ints(",".join(args.adc_bits), "adc-bits", ideal=True)))
    for item in args.vary:
        if "=" not in item:
            raise ConfigError(f"--vary {item!r} must look like section.key=v1,v2,...")
        key, raw = item.split("=", 1)
        key = key.strip()
        if len(key.split(".")) < 2:
            raise ConfigError(f"--vary {item!r}: the key must be section.key")
        if key == "run.seed":  # the seed axis is --seeds (grid() sets each point's seed from it)
            raise ConfigError(f"--vary {key}: vary the seed with --seeds S,T,...")
        if not key.startswith("analog."):
            raise ConfigError(f"--vary {key}: archsim analog reads the analog.* keys (and run.seed: --seeds); "
                              f"{key.split('.')[0]} is another command's section")
        if key in axes:
            raise ConfigError(f"--vary {key}: the key is already an axis")
        axes[key] = [parse_value(v) for v in _list(raw, "vary")]
    if args.seed is not None and args.seeds is not None:
        raise ConfigError("give --seed N (one seed) or --seeds S,T,... (a grid axis), not both")
    seeds = _ints(args.seeds, "seeds") if args.seeds is not None else [cfg.run.seed]
    t0 = time.perf_counter()
    points = grid(cfg, axes, seeds)
    varied = [k for k in axes if k not in ("analog.preset", "analog.optimizer", "analog.adc_bits")]
    out_dir = args.out if args.out is not None else default_out_dir("analog")
    folder = OutputFolder(out_dir, "analog", overwrite=args.overwrite, resumable=True, state=(".checkpoints",))
    out = run_analog(cfg, points, jobs=args.jobs, checkpoint_dir=out_dir / ".checkpoints",
                     progress=not args.no_progress, varied=varied)
    files = out.write(folder, figures=not args.no_figures)
    cols = ["preset", "optimizer", "adc_bits", "seed", *varied, "test_accuracy", "baseline_accuracy",
            "ltp_pulses", "ltd_pulses", "programming_energy_pj", "lifetime_updates"]
    print(out.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {len(files)} files to {out_dir} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
