"""``archsim racetrack``: replay a request file on skyrmion racetrack memory, or count the seed's
matrix layouts (multiply with/without a buffer track, transpose with/without remapping skip)."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

COUNT_KEYS = ("insertions", "removals", "shifts", "detects", "latency_ns", "energy_pj")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "racetrack", help="replay a racetrack request file, or count the matrix layouts of the SK-RM seed",
        description="Replay 'W|R track index value' requests on skyrmion racetrack memory (data starts as all "
                    "zeros) and print insertions, removals, shifts, detects, latency and energy; or, with "
                    "--matrix, count the seed's matrix-multiply and transpose access patterns.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--requests", type=Path, metavar="FILE", help="request file to replay")
    what.add_argument("--matrix", metavar="M,K,N",
                      help="count an M x K by K x N multiply (with/without buffer track) and an M x K transpose "
                           "(copied/skipped)")
    p.add_argument("--scheme", default="dcw", help="racetrack write scheme (default dcw)")
    p.add_argument("--segment-bits", type=int, help="segment width w: 8, 16, 32 or 64")
    p.add_argument("--item-bits", type=int, help="data item width (default 64)")
    p.add_argument("--tracks", type=int, help="tracks (a request's track must be below this)")
    p.add_argument("--data-per-track", type=int, help="data items per track (a request's index must be below this)")
    p.add_argument("--config", type=Path, help="TOML/YAML config file (its [racetrack] section is used)")
    p.add_argument("--set", action="append", default=[], metavar="racetrack.KEY=VALUE",
                   help="override a config key (repeatable)")
    p.add_argument("--out", type=Path, metavar="FILE.json", help="write the figures as JSON")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace):
    from archsim.config import load_config
    from archsim.errors import ConfigError

    overrides = list(args.set)
    for flag, key in (("segment_bits", "segment_bits"), ("item_bits", "item_bits"), ("tracks", "tracks"),
                      ("data_per_track", "data_per_track")):
        value = getattr(args, flag)
        if value is not None:
            overrides.append(f"racetrack.{key}={value}")
    cfg = load_config(args.config, overrides).racetrack
    if args.scheme:
        from archsim.racetrack import RACETRACK_SCHEMES

        try:
            RACETRACK_SCHEMES.get(args.scheme)
        except KeyError as exc:
            raise ConfigError(str(exc)) from None
    return cfg


def run(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.requests is not None:
        return _run_requests(args, cfg)
    return _run_matrix(args, cfg)


def _run_requests(args: argparse.Namespace, cfg) -> int:
    from archsim.racetrack import parse_requests, replay_requests

    reqs = parse_requests(args.requests, cfg)
    result = replay_requests(reqs, args.scheme, cfg)
    row = result.summary()
    out = {key: row[key] for key in COUNT_KEYS}
    out.update(scheme=result.scheme, requests=len(reqs), writes=result.line_writes, reads=result.reads,
               format_insertions=result.format_insertions,
               **{k: v for k, v in row.items() if k.startswith(("energy_", "approx_", "fixed_ones"))
                  and k not in out})
    out["config"] = dataclasses.asdict(cfg)
    print(f"{args.requests}: {len(reqs)} requests ({result.line_writes} writes, {result.reads} reads), "
          f"scheme {result.scheme}, {cfg.segment_bits}-bit segments, {cfg.tracks} tracks x {cfg.data_per_track} items")
    width = max(map(len, COUNT_KEYS))
    for key in COUNT_KEYS:
        v = out[key]
        print(f"  {key:<{width}}  {v:,.1f}" if isinstance(v, float) else f"  {key:<{width}}  {v:,}")
    if "approx_mean_rel_error" in out:
        print(f"  fixed-ones K {out['fixed_ones_k']}: mean relative error {out['approx_mean_rel_error']:.3g}, "
              f"{out['approx_unreachable_words']} words stored exactly")
    _write(args.out, out)
    return 0


def _run_matrix(args: argparse.Namespace, cfg) -> int:
    from archsim.errors import ConfigError
    from archsim.racetrack.matrix import layout_report

    try:
        m, k, n = (int(x) for x in args.matrix.split(","))
    except ValueError:
        raise ConfigError(f"--matrix must be M,K,N (three positive integers), not {args.matrix!r}") from None
    rows = layout_report(m, k, n, base=cfg)
    print(f"{'pattern':<26} {'variant':<14} {'operations':>14} {'shifts':>14} {'detects':>12} "
          f"{'insertions':>10} {'latency_ns':>14} {'saving':>7}")
    for r in rows:
        print(f"{r['pattern']:<26} {r['variant']:<14} {r['operations']:>14,} {r['shifts']:>14,} {r['detects']:>12,} "
              f"{r['insertions']:>10,} {r['latency_ns']:>14,.1f} {r['saving']:>6.1%}")
    print("seed 002 reports close to 50% fewer operations with the buffer track")
    _write(args.out, {"matrix": [m, k, n], "rows": rows})
    return 0


def _write(path: Path | None, data) -> None:
    if path is None:
        return
    from archsim.errors import ArchsimError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ArchsimError(f"{path}: cannot write: {exc}") from None
