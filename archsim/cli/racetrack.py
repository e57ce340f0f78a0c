"""``archsim racetrack``: replay a request file on skyrmion racetrack memory, or count the SK-RM study's
matrix layouts (multiply with/without a buffer track, transpose with/without remapping skip)."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from archsim.cli._common import add_config, add_outputs, add_schemes, add_seed, names
from archsim.errors import ConfigError

COUNT_KEYS = ("insertions", "removals", "shifts", "detects", "latency_ns", "energy_pj")


HELP = "replay a racetrack request file, or count the matrix layouts of the SK-RM study"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "racetrack", help=HELP,
        description="Replay 'W|R track index value' requests on skyrmion racetrack memory (data starts as all "
                    "zeros) and print insertions, removals, shifts, detects, latency and energy; or, with "
                    "--matrix, count the SK-RM study's matrix-multiply and transpose access patterns.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--requests", type=Path, metavar="FILE", help="request file to replay")
    what.add_argument("--matrix", metavar="M,K,N",
                      help="count an M x K by K x N multiply (with/without buffer track) and an M x K transpose "
                           "(copied/skipped)")
    add_schemes(p, "racetrack write schemes to replay (default dcw)")
    p.add_argument("--segment-bits", type=int, metavar="W", help="segment width w: 8, 16, 32 or 64")
    p.add_argument("--item-bits", type=int, metavar="B", help="data item width (default 64)")
    p.add_argument("--tracks", type=int, metavar="N", help="tracks (a request's track must be below this)")
    p.add_argument("--data-per-track", type=int, metavar="N",
                   help="data items per track (a request's index must be below this)")
    add_config(p, example="racetrack.ports_per_track=2", metavar="racetrack.KEY=VALUE")
    add_seed(p, "seed (run.seed; replay and counts have no random element, so it is only recorded in config.toml)")
    add_outputs(p)
    p.add_argument("--json", type=Path, metavar="FILE.json", help="also write the table's rows and the [racetrack] parameters as one JSON file (an existing file "
                        "only with --overwrite)")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace):
    """The whole configuration (its ``[racetrack]`` section is the memory) and the scheme names."""
    from archsim.config import load_config
    from archsim.racetrack import RACETRACK_SCHEMES

    if args.json is not None and args.json.is_file() and not args.overwrite:
        raise ConfigError(f"--json {args.json}: the file exists; choose a new file or pass --overwrite")
    if args.json is not None and args.json.suffix.lower() != ".json" and not _is_stream(args.json):
        raise ConfigError(f"--json {args.json}: name a .json file")
    if args.out is not None and args.out.suffix == ".json":
        raise ConfigError(f"--out {args.out}: --out names an output folder, as for every simulation command; "
                          "write the JSON with --json FILE.json")
    overrides = list(args.overrides)
    for flag, key in (("segment_bits", "segment_bits"), ("item_bits", "item_bits"), ("tracks", "tracks"),
                      ("data_per_track", "data_per_track")):
        value = getattr(args, flag)
        if value is not None:
            overrides.append(f"racetrack.{key}={value}")
    cfg = load_config(args.config, overrides, {"run.seed": args.seed} if args.seed is not None else None)
    if args.schemes and args.matrix is not None:  # the matrix report counts layouts, not a scheme's writes
        raise ConfigError("--schemes applies to --requests (the schemes replay its writes); --matrix counts the "
                          "shifts of matrix layouts, which no write scheme changes")
    schemes = names(args.schemes) or ["dcw"]
    for name in schemes:
        try:
            RACETRACK_SCHEMES.get(name)
        except KeyError as exc:
            raise ConfigError(str(exc)) from None
    if cfg.wear_leveling.name != "none":
        raise ConfigError(f"wear_leveling = {cfg.wear_leveling.name!r}: archsim racetrack replays requests (or "
                          "counts matrix layouts) item by item, with no lines to level; racetrack is levelled "
                          "in archsim run --memory racetrack (wear_leveling = \"none\" here)")
    return cfg, schemes


def run(args: argparse.Namespace) -> int:
    from archsim.outputs import OutputFolder

    config, schemes = _config(args)
    folder = OutputFolder(args.out, "racetrack", overwrite=args.overwrite) if args.out is not None else None
    if args.requests is not None:
        table, data = _run_requests(args, config.racetrack, schemes)
    else:
        table, data = _run_matrix(args, config.racetrack)
    _write_json(args.json, data)
    if folder is not None:
        folder.table(table, "racetrack")
        if not args.no_figures:
            from plots.racetrack import racetrack_counts_figure

            folder.figure(racetrack_counts_figure(table), "racetrack")
        folder.text("config.toml", config.to_toml())
        folder.complete()
        print(f"wrote {len(folder.files)} files to {args.out}")
    return 0


def _run_requests(args: argparse.Namespace, cfg, schemes: list[str]):
    import pandas as pd
    from tqdm.auto import tqdm

    from archsim.racetrack import parse_requests, replay_requests

    reqs = parse_requests(args.requests, cfg)
    rows = []
    for name in tqdm(schemes, desc="racetrack", unit="scheme", disable=args.no_progress or len(schemes) == 1,
                     leave=False):
        result = replay_requests(reqs, name, cfg)
        summary = result.summary()
        row = {"scheme": result.scheme, "requests": len(reqs), "writes": result.line_writes, "reads": result.reads,
               **{key: summary[key] for key in COUNT_KEYS}, "format_insertions": result.format_insertions}
        row.update({k: v for k, v in summary.items() if k.startswith(("energy_", "approx_", "fixed_ones"))
                    and k not in row})
        rows.append(row)
    print(f"{args.requests}: {len(reqs)} requests ({rows[0]['writes']} writes, {rows[0]['reads']} reads), "
          f"{cfg.segment_bits}-bit segments, {cfg.tracks} tracks x {cfg.data_per_track} items; "
          "latency in ns, energy in pJ")
    table = pd.DataFrame(rows)
    shown = ["scheme", *COUNT_KEYS]
    print(table[shown].to_string(index=False, formatters={
        k: (lambda v: f"{v:,.1f}") if k in ("latency_ns", "energy_pj") else (lambda v: f"{v:,}")
        for k in COUNT_KEYS}))
    for row in rows:
        if "approx_mean_rel_error" in row:
            print(f"  {row['scheme']}: fixed-ones K {row['fixed_ones_k']}: mean relative error "
                  f"{row['approx_mean_rel_error']:.3g}, {row['approx_unreachable_words']} words stored exactly")
    data = dict(rows[0]) if len(rows) == 1 else {"rows": rows}
    data["config"] = dataclasses.asdict(cfg)
    return table, data


def _run_matrix(args: argparse.Namespace, cfg):
    import pandas as pd

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
    print("the SK-RM study (Liao and Chen, project 111-CSIE-S017) reports close to 50% fewer operations with the buffer track")
    return pd.DataFrame(rows).assign(m=m, k=k, n=n), {"matrix": [m, k, n], "rows": rows}


def _is_stream(path: Path) -> bool:
    """``path`` exists but is neither a file nor a folder: a pipe or device such as ``/dev/stdout``."""
    return path.exists() and not path.is_file() and not path.is_dir()


def _write_json(path: Path | None, data) -> None:
    """The --json file (its folder made, as --out's), written whole or not at all (a temporary file renamed)."""
    if path is None:
        return
    from archsim.errors import ArchsimError
    from archsim.outputs import atomic_write

    text = json.dumps(data, indent=1) + "\n"
    if _is_stream(path):  # a stream, not a file to replace
        path.write_text(text, encoding="utf-8")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchsimError(f"{path.parent}: cannot make the folder: {exc.strerror or exc}") from None
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
