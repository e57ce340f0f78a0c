"""`archsim sweep`: points, stable ids, Dask LocalCluster, resume after a kill, combined table."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from archsim.cli import main
from archsim.errors import ConfigError
from archsim.sweep import load_results, load_sweep, point_path, run_sweep
from test_run import write_tiny_trace

ROOT = Path(__file__).resolve().parents[2]


def sweep_file(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_points_and_ids(tmp_path):
    f = sweep_file(tmp_path / "s.toml", """
[base.run]
workload = "mlp-digits"
iterations = 5
[sweep]
grid = {"encoding.refresh_unit" = ["line", "word"], "layout.line_bytes" = [32, 64, 128]}
points = [{"run.seed" = 1}, {"run.seed" = 2}]
""")
    spec = load_sweep(f)
    assert len(spec.points) == 12 and spec.keys == ["run.seed", "encoding.refresh_unit", "layout.line_bytes"]
    assert len({p.id for p in spec.points}) == 12
    assert [p.id for p in load_sweep(f).points] == [p.id for p in spec.points]          # stable
    f2 = sweep_file(tmp_path / "s2.toml", f.read_text().replace("iterations = 5", "iterations = 6"))
    assert not {p.id for p in load_sweep(f2).points} & {p.id for p in spec.points}     # base in the id
    base = sweep_file(tmp_path / "base.toml", "[run]\nworkload = 'mlp-digits'\niterations = 5\n")
    f3 = sweep_file(tmp_path / "s3.toml", 'base = "base.toml"\n[sweep]\npoints = [{"run.seed" = 3}]\n')
    assert load_sweep(f3).base.run.workload.name == "mlp-digits"


@pytest.mark.parametrize("body, message", [
    ('[sweep]\ngrid = {"pcm.nope" = [1]}\n', "unknown key 'pcm.nope'"),
    ('[sweep]\ngrid = {"layout.line_bytes" = []}\n', "non-empty list"),
    ('[sweep.grid]\nlayout.line_bytes = [16, 64]\n', 'quote a dotted key, "layout.line_bytes" = [...]'),
    ('[sweep.grid]\ntiming.scheduling.batch = [8]\n', 'quote a dotted key, "timing.scheduling.batch" = [...]'),
    ('[sweep]\ngrid = {"run.workload.lr" = [0.1, 0.2]}\npoints = [{"run.knobs.lr" = 0.3}]\n',
     "point {'run.knobs.lr': 0.3} sets 'run.knobs.lr' and sweep.grid sets 'run.workload.lr'"),
    ('[sweep]\ngrid = {"run.workload" = ["mlp-digits"], "run.workload.lr" = [0.1, 0.2]}\npoints = [{"run.seed" = 1}, '
     '{"run.seed" = 1}]\n', "appears twice"),  # a choice's name and one of its parameters: no overlap
    ('[sweep]\nwhat = 1\n', "unknown key(s) what"),
    ('[base]\n[sweep]\npoints = [{"run.seed" = 1}, {"run.seed" = 1}]\n', "appears twice"),
    ('[run]\n', "unknown top-level key"),
    ('[sweep]\nexperiment = "analog"\ngrid = {"layout.line_bytes" = [16, 64]}\n',
     "sweep experiment 'analog' does not read 'layout.line_bytes'"),
    ('[sweep]\ngrid = {"analog.adc_bits" = [4, 8]}\n', "sweep experiment 'run' does not read 'analog.adc_bits'"),
    ('[sweep]\ngrid = {"pcm.set_energy_pj" = [' + "9" * 5000 + ']}\n', "not valid TOML: Exceeds the limit"),
    ('[sweep]\ngrid = {"layout.line_bytes" = [16, 64], "layout" = [{"line_bytes" = 32}]}\n',
     "sweep.grid sets 'layout.line_bytes' and it also sets 'layout'"),
    ('[sweep]\ngrid = {"run.iterations" = [3, 4]}\npoints = [{"run.iterations" = 5}]\n',
     "point {'run.iterations': 5} sets 'run.iterations' and sweep.grid sets 'run.iterations'"),
    ('base = "gone.toml"\n[sweep]\npoints = [{"run.seed" = 1}]\n', "bad.toml: base = 'gone.toml': "),
    ('[sweep]\ngrid = {}\n', "sweep.grid is empty: give at least one key = [values]"),
    ('[sweep]\nexperiment = "run"\n', "[sweep] gives neither 'grid' nor 'points': nothing to sweep"),
    ('[sweep]\ngrid = {"pcm.set_energy_pj" = [5, 5.0]}\n',
     "the points {'pcm.set_energy_pj': 5} and {'pcm.set_energy_pj': 5.0} are the same configuration"),
    ('[sweep]\npoints = [{}, {"run.seed" = 0}]\n', "the points {} and {'run.seed': 0} are the same configuration"),
    ('[sweep]\ngrid = {"timing.banks" = [4, 8]}\n', "the sweep sets 'timing.banks', but no point reads [timing]: no "
     "run observer reads it (the timing model: run.observers = [\"timing\"], or --timing on the command line); its "
     "points would be the same numbers"),
    ('[sweep]\ngrid = {"racetrack.tracks" = [4, 8]}\n', "no point reads [racetrack]: it configures the racetrack "
     "memory and this run's is pcm (run.memory)"),
])
def test_bad_sweep_files(tmp_path, body, message):
    with pytest.raises(ConfigError) as err:
        load_sweep(sweep_file(tmp_path / "bad.toml", body))
    assert message in str(err.value)


def test_a_choice_with_its_old_table_of_knobs_and_a_file_not_utf8(tmp_path):
    """run.workload (names) beside run.knobs (the old spelling of its parameters) is not a key set twice;
    a sweep file with a byte that is not UTF-8 is one error naming its line, not a TOML error."""
    spec = load_sweep(sweep_file(tmp_path / "old.toml", '[sweep]\ngrid = {"run.workload" = ["mlp-digits", '
                                 '"lenet-digits"], "run.knobs" = [{lr = 0.5}, {lr = 0.05}]}\n'))
    assert len(spec.points) == 4
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"[sweep]\n# \xe9nergie\ngrid = {}\n")
    with pytest.raises(ConfigError) as err:
        load_sweep(bad)
    assert str(err.value) == f"{bad}: line 2: not UTF-8 text (byte 0xe9)" or (
        str(err.value).startswith(f"{bad}: line 2: not UTF-8") and "not valid TOML" not in str(err.value))


def test_two_point_sweep_killed_after_the_first_point_resumes(tmp_path):
    trace = write_tiny_trace(tmp_path / "tiny.trace")[0]
    # point 1 is quick (the tiny trace); point 2 streams 400 LeNet-size iterations (seconds)
    f = sweep_file(tmp_path / "s.toml", f"""
[base.run]
trace = "{trace}"
iterations = 40
schemes = ["preset"]
[sweep]
points = [{{"run.seed" = 1}},
          {{"run.trace" = "", "run.workload" = "synthetic-lenet", "run.iterations" = 400}}]
""")
    spec = load_sweep(f)
    first, second = (point_path(tmp_path / "out", p.id) for p in spec.points)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "archsim", "sweep", "--config", str(f), "--out",
                             str(tmp_path / "out"), "--workers", "1", "--no-progress"],
                            cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.exists(), "the first point did not finish"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)     # the sweep and its Dask workers: a crash
        proc.wait()
    assert not second.exists()
    mtime = first.stat().st_mtime_ns
    partial = load_results(tmp_path / "out")
    assert list(partial["point"]) == [spec.points[0].id]
    with pytest.raises(Exception, match="1 of 2 points are not finished"):
        load_results(tmp_path / "out", complete=True)
    with pytest.raises(Exception, match="table must be 'summary' or 'flips', not 'bit_flips'"):
        load_results(tmp_path / "out", table="bit_flips")  # it returned the summary table
    with pytest.raises(Exception, match="nowhere: no such sweep folder"):
        load_results(tmp_path / "nowhere")

    counts = run_sweep(spec, tmp_path / "out", workers=1, progress=False, cache_dir=tmp_path / "cache")
    assert counts == {"points": 2, "skipped": 1, "ran": 1}
    assert first.stat().st_mtime_ns == mtime and second.exists()
    table = load_results(tmp_path / "out", complete=True)
    assert list(table["point"]) == [p.id for p in spec.points]
    assert list(table["run.iterations"]) == [40, 400] and list(table["run.workload"])[1] == "synthetic-lenet"
    assert table.loc[1, "n_params"] == 431_080
    flips = load_results(tmp_path / "out", table="flips")
    assert len(flips) == 2 * 32 and set(flips["point"]) == {p.id for p in spec.points}


def test_cli_sweep_on_a_local_cluster(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("archsim.run.usable_cpus", lambda: 2)   # two workers on any machine (check_local_workers)
    trace = write_tiny_trace(tmp_path / "tiny.trace")[0]
    f = sweep_file(tmp_path / "s.toml", f"""
[base.run]
trace = "{trace}"
iterations = 40
schemes = ["wom-set", "appwom"]
[sweep]
grid = {{"encoding.refresh_unit" = ["line", "word"]}}
""")
    assert main(["sweep", "--config", str(f), "--out", str(tmp_path / "o"), "--workers", "2",
                 "--no-progress"]) == 0
    assert "2 points (0 already done, 2 run)" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "o" / "results.csv")
    assert len(table) == 4 and list(table["encoding.refresh_unit"]) == ["line", "line", "word", "word"]
    assert main(["sweep", "--config", str(f), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    assert "2 points (2 already done, 0 run)" in capsys.readouterr().out
    assert main(["sweep", "--config", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2


def test_points_apply_to_the_base_as_written(tmp_path):
    """A point that changes a choice keeps the parameters the base gave for it; old spellings read as in a
    config file; an old and a new spelling of one key together are an error."""
    f = sweep_file(tmp_path / "s.toml", """
[base.run]
workload = "lenet-digits"
iterations = 5
observers = ["timing"]
[base.run.knobs]
lr = 0.1
[sweep]
grid = {"run.workload" = ["lenet-digits", "mlp-digits"]}
points = [{"run.knobs.momentum" = 0.5}, {"timing.write_high_watermark" = 20}]
""")
    spec = load_sweep(f)
    configs = [spec.point_config(p) for p in spec.points]
    assert [c.run.workload.name for c in configs] == ["lenet-digits", "mlp-digits"] * 2
    assert all(c.run.workload.params.lr == 0.1 for c in configs)  # the base's knob, whatever the workload
    assert [c.run.workload.params.momentum for c in configs] == [0.5, 0.5, 0.9, 0.9]
    assert [c.timing.scheduling.params.write_high_watermark for c in configs] == [24, 24, 20, 20]
    # a change asked for must take effect: an old key the chosen implementation does not take is an error
    f2 = sweep_file(tmp_path / "s2.toml", '[sweep]\npoints = [{"timing.region_lines" = 4}]\n')
    with pytest.raises(ConfigError, match="unknown parameter 'region_lines' of region manager 'ping-pong'"):
        load_sweep(f2)
    bad = sweep_file(tmp_path / "b.toml", """
[sweep]
grid = {"timing.write_high_watermark" = [16, 20], "timing.scheduling.write_high_watermark" = [16, 20]}
""")
    with pytest.raises(ConfigError, match=r"are the same key \(old and new spelling\)"):
        load_sweep(bad)


def test_a_worker_that_cannot_see_the_paths_says_so(tmp_path):
    from archsim.cluster import check_worker

    (tmp_path / "points").mkdir()
    assert check_worker(str(tmp_path / "cache"), [], str(tmp_path)) is None
    problem = check_worker(str(tmp_path / "cache"), [], str(tmp_path / "elsewhere"))
    assert problem.startswith("Dask worker on ") and "cannot write the folder" in problem \
        and "shared filesystem" in problem
    problem = check_worker(str(tmp_path / "cache"), [str(tmp_path / "no.trace")], str(tmp_path))
    assert "cannot see the trace" in problem
