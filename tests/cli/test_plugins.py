"""The three plugins of docs/examples, each one file loaded with --plugin, run end to end through the CLI
(in a subprocess, so their registrations stay out of the other tests): a memory technology with its own
cost model, a PCM write scheme with its own parameter, a scheduling policy with its own parameter."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
RUN = ["run", "--workload", "mlp-digits", "--iterations", "4", "--no-figures", "--no-progress"]


def archsim(tmp_path, plugin: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "archsim", "--plugin", str(EXAMPLES / plugin), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc


def test_a_memory_technology_as_a_plugin(tmp_path):
    out = tmp_path / "reram"
    archsim(tmp_path, "reram_plugin.py", *RUN, "--memory", "reram", "--out", str(out))
    s = pd.read_csv(out / "summary.csv").set_index("scheme")
    assert list(s.index) == ["naive", "dcw"] and (s["memory"] == "reram").all()
    # naive programs every cell of every write; dcw only the changed ones
    assert s.loc["naive", "bit_flips"] == 4 * s.loc["naive", "lines"] * s.loc["naive", "words_per_line"] * 32
    assert 0 < s.loc["dcw", "bit_flips"] < s.loc["naive", "bit_flips"]
    assert s.loc["dcw", "energy_pj"] == pytest.approx(s.loc["dcw", "set_flips"] * 2.0 + s.loc["dcw", "reset_flips"] * 3.0)
    assert len(pd.read_csv(out / "bit_flips.csv")) == 2 * 32  # per-cell wear gives the per-bit table

    timed = tmp_path / "reram-timing"
    archsim(tmp_path, "reram_plugin.py", *RUN, "--memory", "reram", "--timing", "--set", "reram.set_latency_ns=20",
            "--out", str(timed))
    banks = pd.read_csv(timed / "timing_banks.csv")
    for col in ("energy_set_pj", "energy_reset_pj", "energy_read_pj", "cell_flips", "lifetime_iterations"):
        assert col in banks.columns
    t = pd.read_csv(timed / "summary.csv").set_index("scheme")
    assert (t["queued_avg_write_latency_ns"] >= t["avg_write_latency_ns"]).all()
    assert (t["avg_write_latency_ns"] < s["avg_write_latency_ns"]).all()  # the faster SET pulse
    assert "[reram]" in (timed / "config.toml").read_text() and "set_latency_ns = 20.0" in \
        (timed / "config.toml").read_text()
    # the run's config.toml repeats it, with the plugin
    again = tmp_path / "again"
    archsim(tmp_path, "reram_plugin.py", "run", "--config", str(timed / "config.toml"), "--no-figures",
            "--no-progress", "--out", str(again))
    for name in ("summary.csv", "timing_banks.csv"):
        assert (again / name).read_bytes() == (timed / name).read_bytes()


def test_a_pcm_scheme_with_its_own_parameter(tmp_path):
    outs = {}
    for bits in (4, 12):
        outs[bits] = tmp_path / f"m{bits}"
        archsim(tmp_path, "pcm_scheme_plugin.py", *RUN, "--schemes", "dcw,dcw-skip-low",
                "--set", f"encoding.schemes.dcw-skip-low.mask_bits={bits}", "--out", str(outs[bits]))
    s4 = pd.read_csv(outs[4] / "summary.csv").set_index("scheme")
    s12 = pd.read_csv(outs[12] / "summary.csv").set_index("scheme")
    assert s4.loc["dcw", "bit_flips"] == s12.loc["dcw", "bit_flips"]
    assert s12.loc["dcw-skip-low", "bit_flips"] < s4.loc["dcw-skip-low", "bit_flips"] < s4.loc["dcw", "bit_flips"]
    assert s12.loc["dcw-skip-low", "approx_max_rel_error"] > 0
    cfg = tmp_path / "c.toml"
    cfg.write_text('[encoding.schemes.dcw-skip-low]\nmask_bits = 12\n')
    from_file = tmp_path / "file"
    archsim(tmp_path, "pcm_scheme_plugin.py", *RUN, "--schemes", "dcw,dcw-skip-low", "--config", str(cfg),
            "--out", str(from_file))
    assert (from_file / "summary.csv").read_bytes() == (outs[12] / "summary.csv").read_bytes()
    bad = archsim(tmp_path, "pcm_scheme_plugin.py", *RUN, "--schemes", "dcw-skip-low",
                  "--set", "encoding.schemes.dcw-skip-low.nope=1", "--out", str(tmp_path / "x"), ok=False)
    assert "encoding.schemes.dcw-skip-low.nope" in bad.stderr and "Traceback" not in bad.stderr


def test_a_scheduling_policy_with_its_own_parameter(tmp_path):
    cfg = tmp_path / "wb.toml"   # two banks: reads and writes contend, so the drain threshold matters
    cfg.write_text('[timing]\nranks = 1\nbanks = 2\n[timing.scheduling]\nname = "write-batch"\nbatch = 32\n')
    a, b = tmp_path / "a", tmp_path / "b"
    lenet = ["run", "--iterations", "3", "--no-figures", "--no-progress", "--schemes", "preset", "--timing"]
    archsim(tmp_path, "timing_plugin.py", *lenet, "--config", str(cfg), "--out", str(a))
    assert 'name = "write-batch"\nbatch = 32' in (a / "config.toml").read_text()
    archsim(tmp_path, "timing_plugin.py", *lenet, "--config", str(cfg), "--set", "timing.scheduling.batch=1",
            "--out", str(b))
    assert 'name = "write-batch"\nbatch = 1' in (b / "config.toml").read_text()
    qa = pd.read_csv(a / "timing_overall.csv")
    qb = pd.read_csv(b / "timing_overall.csv")
    assert not qa["write_avg_latency_ns"].equals(qb["write_avg_latency_ns"])  # the parameter reaches the policy
    for args, message in (
        (["--set", "timing.scheduling.nope=1"], "unknown parameter 'nope' of scheduling policy 'write-batch'"),
        (["--set", "timing.scheduling.batch=0"], "timing.scheduling.batch must be in 1..write_queue"),
    ):
        bad = archsim(tmp_path, "timing_plugin.py", *RUN, "--timing", "--config", str(cfg), *args,
                      "--out", str(tmp_path / "bad"), ok=False)
        assert message in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("body, message", [
    ("import sys\nsys.exit(0)\n", "called sys.exit(0) while being loaded"),
    ("from archsim.pcm import PCM_SCHEMES\nfrom archsim.pcm.schemes import Dcw\n"
     "PCM_SCHEMES.register('dcw', type('Other', (Dcw,), {}))\n", "PCM write scheme 'dcw' is already registered"),
    ("raise ValueError('my bug')\n", "ValueError: my bug"),
    ("from archsim.pcm import PCM_SCHEMES\n@PCM_SCHEMES.register('notaclass')\ndef f():\n    pass\n",
     "PCM write scheme 'notaclass': a PCM write scheme is a subclass of archsim.pcm.encoder.Encoder, not function"),
])
def test_a_failing_plugin_is_one_error_naming_its_file(tmp_path, body, message):
    plugin = tmp_path / "bad_plugin.py"
    plugin.write_text(body)
    proc = subprocess.run([sys.executable, "-m", "archsim", "--plugin", str(plugin), "run", "--iterations", "1",
                           "--no-progress", "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"archsim: error: plugin {plugin}: " + proc.stderr.strip().split(": ", 3)[-1]
    assert message in proc.stderr and str(plugin) in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()  # nothing written


def test_a_sweep_over_a_plugin_technology_runs_on_dask_workers(tmp_path):
    """The base configuration holds the plugin's section; the workers load the plugin before rebuilding it."""
    sweep = tmp_path / "s.toml"
    sweep.write_text('[base.run]\nmemory = "reram"\nworkload = "mlp-digits"\niterations = 3\n'
                     '[sweep]\npoints = [{"reram.verify_rounds" = 1}, {"reram.verify_rounds" = 2}]\n')
    proc = subprocess.run([sys.executable, "-m", "archsim", "--plugin", str(EXAMPLES / "reram_plugin.py"), "sweep",
                           "--config", str(sweep), "--out", str(tmp_path / "out"), "--workers", "1",
                           "--no-progress"], capture_output=True, text=True, cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    lat = table.set_index(["reram.verify_rounds", "scheme"])["avg_write_latency_ns"]
    assert lat[(2, "dcw")] == pytest.approx(2 * lat[(1, "dcw")])  # each pulse verified twice
def test_the_tutorials_request_level_policy_end_to_end(tmp_path):
    """docs/tutorial-policy.md: least-worn with its own parameter, through the CLI with --timing."""
    out = tmp_path / "lw"
    archsim(tmp_path, "least_worn_policy.py", *RUN, "--schemes", "appwom", "--timing",
            "--set", "timing.scheduling=least-worn", "--set", "timing.scheduling.max_active_writes=4",
            "--out", str(out))
    s = pd.read_csv(out / "summary.csv").set_index("scheme")
    for col in ("row_hit_rate", "read_bandwidth_gbs", "write_bandwidth_gbs", "write_cancellations",
                "write_pauses", "queue_occupancy_mean", "queue_occupancy_p99"):
        assert col in s.columns
    assert s.loc["appwom", "write_bandwidth_gbs"] > 0 and s.loc["appwom", "queue_occupancy_p99"] >= 1
    assert "max_active_writes = 4" in (out / "config.toml").read_text()
    bad = archsim(tmp_path, "least_worn_policy.py", *RUN, "--timing", "--set", "timing.scheduling=least-worn",
                  "--set", "timing.scheduling.max_active_writes=0", "--out", str(tmp_path / "bad"), ok=False)
    assert bad.returncode == 2 and "max_active_writes must be a positive integer" in bad.stderr
    assert "Traceback" not in bad.stderr
def test_a_wear_leveller_as_a_plugin(tmp_path):
    out = tmp_path / "random-rotate"
    archsim(tmp_path, "wear_plugin.py", *RUN, "--set", "run.schemes=[\"dcw\", \"appwom\"]",
            "--set", "wear_leveling=random-rotate", "--set", "wear_leveling.period=2", "--out", str(out))
    s = pd.read_csv(out / "summary.csv").set_index("scheme")
    assert (s["wear_leveling"] == "random-rotate").all()
    # two rotations in four iterations, every line copied each time
    assert (s["levelling_line_writes"] == 2 * s["lines"]).all()
    assert (s["levelling_flips"] > 0).all() and (s["levelling_energy_share"] > 0).all()
    # the steady state of a random rotation is the worst line's mean (copies included): it cannot beat the
    # mean-wear bound; it beats dcw's first-cell lifetime (AppWOM's ping-pong wears its cells evenly already)
    assert (s["lifetime_levelled_iterations"] <= s["lifetime_mean_iterations"] * (1 + 1e-12)).all()
    assert s.loc["dcw", "lifetime_levelled_iterations"] > s.loc["dcw", "lifetime_iterations"]
    assert s.loc["appwom", "lifetime_levelled_iterations"] >= s.loc["appwom", "lifetime_iterations"]
    bad = archsim(tmp_path, "wear_plugin.py", *RUN, "--set", "wear_leveling=random-rotate",
                  "--set", "wear_leveling.period=0", ok=False)
    assert "wear_leveling.period must be at least 1" in bad.stderr


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_policy_answering_nonsense_is_one_error_naming_it(tmp_path, engine):
    plugin = tmp_path / "badpol.py"
    plugin.write_text("from archsim.timing.scheduling import SCHEDULING_POLICIES, SchedulingPolicy\n\n"
                      "@SCHEDULING_POLICIES.register('bad')\nclass Bad(SchedulingPolicy):\n"
                      "    def arbitrate(self, reads, writes):\n        return 99\n")
    proc = subprocess.run([sys.executable, "-m", "archsim", "--plugin", str(plugin), *RUN, "--iterations", "2",
                           "--timing", "--set", "timing.scheduling=bad", "--set", f"timing.model={engine}",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"scheduling policy Bad ({plugin}): arbitrate returned 99, not an Arbitration" in proc.stderr
    assert not (tmp_path / "o" / "summary.csv").exists()  # no table written


def test_a_plugin_path_that_is_not_a_py_file_is_one_error(tmp_path, capsys):
    from archsim.cli import main

    (tmp_path / "notes.txt").write_text("x")
    for spec, what in ((str(tmp_path), "a directory"), (str(tmp_path / "notes.txt"), "not a .py file"),
                       (str(tmp_path / "gone" / "p.txt"), "no such file")):
        assert main(["--plugin", spec, "run", "--iterations", "1", "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.strip() == (f"archsim: error: plugin {spec}: {what}; give a plugin file ending in .py or an "
                               "importable module name (my_package.schemes)")
    assert not (tmp_path / "o").exists()


def test_the_same_plugin_file_given_twice_is_loaded_once(tmp_path):
    plugin = tmp_path / "twice_plugin.py"
    plugin.write_text("from archsim.pcm import PCM_SCHEMES\nfrom archsim.pcm.schemes import Dcw\n"
                      "PCM_SCHEMES.register('dcw-twice', type('DcwTwice', (Dcw,), {}))\n")
    proc = subprocess.run([sys.executable, "-m", "archsim", "--plugin", str(plugin), "--plugin", str(plugin), "run",
                           "--iterations", "2", "--schemes", "dcw-twice", "--no-progress", "--no-figures",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
