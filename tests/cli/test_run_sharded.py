"""``archsim run --workers N`` / ``--scheduler ADDRESS`` / ``--shards K``: the run replayed in line ranges
on Dask workers (archsim.shard) writes the tables of the plain run, byte for byte."""
from __future__ import annotations

import json
from pathlib import Path

from archsim.cli import main

RUN = ["run", "--workload", "synthetic-lenet", "--iterations", "3", "--no-figures", "--no-progress"]


def _tables(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("summary.csv", "bit_flips.csv")}


def test_local_cluster_gives_the_plain_tables(tmp_path):
    args = [*RUN, "--schemes", "preset,appwom,dap"]   # LeNet's 27K lines: two ranges of whole error blocks
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask"), "--workers", "2"]) == 0
    assert _tables(tmp_path / "dask") == _tables(tmp_path / "plain")
    info = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert info["line_ranges"] == [[0, 12288], [12288, 26947]]   # whole 4,096-line blocks, then the rest
    assert "line_ranges" not in json.loads((tmp_path / "plain" / "run.json").read_text())


def test_scheduler_with_a_wear_leveller_gives_the_plain_tables(tmp_path, cluster, capsys):
    args = [*RUN, "--schemes", "dcw,wom-set", "--set", "wear_leveling.name=rotate", "--set", "wear_leveling.period=1"]
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    shown = [a for a in args if a != "--no-progress"]       # the workers' progress, in the run's iterations
    assert main([*shown, "--out", str(tmp_path / "dask"), "--scheduler", cluster, "--shards", "3"]) == 0
    assert "replay (sharded): 100%" in capsys.readouterr().err.replace("\r", "\n")
    assert main([*args, "--out", str(tmp_path / "local"), "--shards", "3"]) == 0   # in this process
    assert _tables(tmp_path / "dask") == _tables(tmp_path / "plain") == _tables(tmp_path / "local")


def test_a_run_with_observers_is_refused_in_one_line(tmp_path, capsys):
    assert main([*RUN, "--timing", "--workers", "2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--timing" in err and "--workers" in err
