"""``archsim run --workers N`` / ``--scheduler ADDRESS`` / ``--shards K``: the run replayed in line ranges
on Dask workers (archsim.shard), or with the timing model a scheme a task, writes the tables of the plain run,
byte for byte."""
from __future__ import annotations

import json
from pathlib import Path

from archsim.cli import main

RUN = ["run", "--workload", "synthetic-lenet", "--iterations", "3", "--no-figures", "--no-progress"]


def _tables(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("summary.csv", "bit_flips.csv")}


def test_local_cluster_gives_the_plain_tables(tmp_path, monkeypatch):
    monkeypatch.setattr("archsim.run.usable_cpus", lambda: 2)   # two workers on any machine (check_local_workers)
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


def test_the_timing_model_runs_a_scheme_a_task_with_the_plain_tables(tmp_path, cluster):
    """--timing on Dask: each worker replays one scheme over every line with its timing model (dap, whose
    cells decay, replayed again on the model's clock there); every table is the plain run's, byte for byte."""
    args = ["run", "--workload", "mlp-digits", "--iterations", "4", "--schemes", "dcw,appwom,dap", "--timing",
            "--no-figures", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask"), "--scheduler", cluster]) == 0
    plain = sorted(p.name for p in (tmp_path / "plain").glob("*.csv"))
    assert "timing_banks.csv" in plain and plain == sorted(p.name for p in (tmp_path / "dask").glob("*.csv"))
    for name in plain:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


def test_observers_that_cannot_split_are_refused_in_one_line(tmp_path, capsys):
    assert main([*RUN, "--timing", "--shards", "2", "--out", str(tmp_path / "x")]) == 2   # line ranges: no
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--timing" in err and "--shards" in err


def test_an_observer_given_as_an_object_is_not_sent_to_workers():
    import pytest

    from archsim.config import load_config
    from archsim.errors import ConfigError
    from archsim.observers import ObserverReport, RunObserver
    from archsim.run import run_experiment

    class Counting(RunObserver):
        def start(self, ctx):
            pass

        def chunk(self, scheme, first_iteration, outcome):
            pass

        def finish(self):
            return ObserverReport()

    cfg = load_config(None, ["run.workload=mlp-digits", "run.iterations=2"])
    with pytest.raises(ConfigError, match="Counting does not"):
        run_experiment(cfg, observers=[Counting(cfg)], dask_workers=2, progress=False)


def test_an_interrupted_split_run_resumes_with_the_parts_it_had_not_finished(tmp_path, monkeypatch, capsys):
    """Each finished line range is kept in the output folder (parts/); run again into the folder, the run
    replays only the ranges it had not finished, and writes the plain run's tables."""
    import archsim.shard as shard

    args = [*RUN, "--schemes", "dcw,appwom", "--shards", "3"]
    assert main([*RUN, "--schemes", "dcw,appwom", "--out", str(tmp_path / "plain")]) == 0
    real, calls = shard.replay_lines, []

    def interrupted(config, first, end, **kw):
        calls.append(first)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops the run during its second range
        return real(config, first, end, **kw)

    monkeypatch.setattr(shard, "replay_lines", interrupted)
    try:
        main([*args, "--out", str(tmp_path / "split")])
    except KeyboardInterrupt:
        pass
    assert len(list((tmp_path / "split" / "parts").glob("*.pkl"))) == 1   # the first range was kept
    calls.clear()
    monkeypatch.setattr(shard, "replay_lines", lambda config, first, end, **kw: calls.append(first) or
                        real(config, first, end, **kw))
    assert main([*args, "--out", str(tmp_path / "split")]) == 0
    assert len(calls) == 2 and 0 not in calls                            # only the two it had not finished
    assert _tables(tmp_path / "split") == _tables(tmp_path / "plain")
    calls.clear()
    assert main([*args, "--out", str(tmp_path / "split"), "--set", "pcm.set_energy_pj=20"]) == 0
    assert len(calls) == 3                                               # another configuration: all again


def test_a_timed_run_on_dask_resumes_with_the_schemes_it_had_not_finished(tmp_path, cluster):
    args = ["run", "--workload", "mlp-digits", "--iterations", "3", "--schemes", "dcw,appwom", "--timing",
            "--no-figures", "--no-progress", "--scheduler", cluster, "--out", str(tmp_path / "dask")]
    assert main(args) == 0
    parts = {p.name: p for p in (tmp_path / "dask" / "parts").glob("*.pkl")}
    assert len(parts) == 2
    kept = next(p for n, p in parts.items() if n.endswith("-scheme-dcw.pkl"))
    stamp = kept.stat().st_mtime_ns
    next(p for n, p in parts.items() if n.endswith("-scheme-appwom.pkl")).unlink()  # as if interrupted then
    before = {n: (tmp_path / "dask" / n).read_bytes() for n in ("summary.csv", "timing_banks.csv")}
    assert main(args) == 0
    assert kept.stat().st_mtime_ns == stamp                                 # dcw was not replayed
    assert {n: (tmp_path / "dask" / n).read_bytes() for n in before} == before


def test_a_timed_run_whose_schemes_are_all_saved_starts_no_cluster(tmp_path, cluster, monkeypatch):
    """Run again with every scheme's part saved, the timed run on Dask joins them without a client."""
    import archsim.shard

    args = ["run", "--workload", "mlp-digits", "--iterations", "3", "--schemes", "dcw,appwom", "--timing",
            "--no-figures", "--no-progress", "--scheduler", cluster, "--out", str(tmp_path / "dask")]
    assert main(args) == 0
    before = {n: (tmp_path / "dask" / n).read_bytes() for n in ("summary.csv", "timing_banks.csv")}

    def no_client(*a, **k):
        raise AssertionError("a cluster was started with every scheme saved")

    monkeypatch.setattr(archsim.shard, "_checked_client", no_client)
    assert main(args) == 0
    assert {n: (tmp_path / "dask" / n).read_bytes() for n in before} == before


def test_bad_dask_options_are_one_error_before_the_folder_is_claimed(tmp_path, capsys, monkeypatch):
    """More local workers than CPUs, an empty scheduler address or one with an impossible port: one error at
    once (no LocalCluster of 100,000 processes, no 20 s connection timeout), and no results folder."""
    monkeypatch.setattr("archsim.run.usable_cpus", lambda: 2)
    cases = [(["--workers", "100000"], "--workers 100000: this machine gives archsim 2 CPU(s)"),
             (["--scheduler", ""], "--scheduler: the address is empty"),
             (["--scheduler", "tcp://127.0.0.1:99999"], "the port is not a number from 1 to 65535"),
             (["--scheduler", "localhost:http"], "the port is not a number from 1 to 65535")]
    for extra, message in cases:
        assert main([*RUN, "--schemes", "preset", "--out", str(tmp_path / "out"), *extra]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "out").exists()
    sweep = tmp_path / "s.toml"
    sweep.write_text("base = {}\n")
    assert main(["sweep", "--config", str(sweep), "--out", str(tmp_path / "sw"), "--workers", "3"]) == 2
    assert "--workers 3: this machine gives archsim 2 CPU(s)" in capsys.readouterr().err
    assert not (tmp_path / "sw").exists()
