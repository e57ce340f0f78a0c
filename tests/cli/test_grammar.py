"""One grammar for every simulation command: the same options, spelt and parsed one way; a fast --help;
shell completion."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from archsim.cli import build_parser, main
from archsim.cli._common import names

SIMULATION = {  # command words -> the arguments it needs besides the common ones
    ("run",): [],
    ("timing", "run"): [],
    ("timing", "sweep-gap"): [],
    ("accuracy",): [],
    ("analog",): [],
    ("racetrack",): ["--matrix", "2,2,2"],
}
COMMON = ["--config", "c.toml", "--set", "run.seed=3", "--seed", "4", "--out", "o", "--no-figures",
          "--no-progress", "--overwrite"]


@pytest.mark.parametrize("words", list(SIMULATION), ids=" ".join)
def test_every_simulation_command_takes_the_common_options(words):
    args = build_parser(words[0]).parse_args([*words, *SIMULATION[words], *COMMON])
    assert str(args.config) == "c.toml" and args.overrides == ["run.seed=3"]
    assert str(args.out) == "o" and args.no_figures and args.no_progress and args.overwrite
    assert args.seed == 4


@pytest.mark.parametrize("words", [w for w in SIMULATION if w != ("analog",)], ids=" ".join)
def test_schemes_comma_separated_or_repeated_alike(words):
    parser = build_parser(words[0])
    extra = SIMULATION[words]
    one = parser.parse_args([*words, *extra, "--schemes", "a,b", "--schemes", "c"])
    other = parser.parse_args([*words, *extra, "--scheme", "a", "--schemes", "b,c,a"])
    assert names(one.schemes) == names(other.schemes) == ["a", "b", "c"]
    assert names(parser.parse_args([*words, *extra]).schemes) is None


def test_an_empty_schemes_list_is_one_error(capsys):
    assert main(["timing", "run", "--schemes", ",", "--no-progress"]) == 2
    assert capsys.readouterr().err.strip() == "archsim: error: --schemes: name at least one"


@pytest.mark.parametrize("gaps, message", [
    ("5,-1", "every gap must be a finite number of ns, 0 or more, not -1"),
    ("5,nan", "not nan"),
    (",", "give at least one gap"),
    ("5,x", "comma-separated numbers"),
    ("100,5,100.0", "the gap 100 ns is given twice"),
])
def test_bad_gaps_are_one_error(tmp_path, capsys, gaps, message):
    assert main(["timing", "sweep-gap", "--gaps-ns", gaps, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "o").exists()


def test_help_loads_no_simulator():
    """`archsim --help` builds only the command list: no technology, workload, pandas or SimPy is imported."""
    code = ("import sys, contextlib, io\n"
            "from archsim.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            "assert 'racetrack' in out.getvalue() and 'completion' in out.getvalue()\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'simpy', 'workloads', 'matplotlib')"
            " or m.startswith(('archsim.pcm', 'archsim.racetrack', 'archsim.timing', 'archsim.analog')))\n"
            "print(','.join(heavy))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_a_sub_command_builds_only_its_own_options():
    parser = build_parser("run")
    assert parser.parse_args(["run", "--schemes", "dcw"]).schemes == ["dcw"]
    with pytest.raises(SystemExit):  # the stub of another command has no options
        parser.parse_args(["accuracy", "--schemes", "dcw"])


def test_completion_script_names_commands_and_options(capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for word in ("racetrack", "sweep-gap", "--schemes", "--no-figures", "--overwrite"):
        assert word in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_a_sub_command(tmp_path, capsys):
    assert main(["completion", "bash"]) == 0
    (tmp_path / "archsim.bash").write_text(capsys.readouterr().out)
    probe = (f"source {tmp_path / 'archsim.bash'}; COMP_WORDS=(archsim tim); COMP_CWORD=1; "
             "_shtab_archsim; echo \"${COMPREPLY[@]}\"; COMP_WORDS=(archsim timing run --sch); COMP_CWORD=3; "
             "_shtab_archsim; echo \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    first, second = done.stdout.splitlines()
    assert first.split() == ["timing"]
    assert "--schemes" in second.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_each_commands_schemes(tmp_path, capsys):
    """``archsim racetrack --schemes`` offers the racetrack schemes only; ``archsim run`` every memory's;
    ``archsim accuracy`` also its exact ``baseline``."""
    assert main(["completion", "bash"]) == 0
    (tmp_path / "archsim.bash").write_text(capsys.readouterr().out)
    offered = {}
    for command in ("racetrack", "run", "accuracy"):
        probe = (f"source {tmp_path / 'archsim.bash'}; COMP_WORDS=(archsim {command} --schemes ''); COMP_CWORD=3; "
                 "_shtab_archsim; echo \"${COMPREPLY[@]}\"")
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
        offered[command] = set(done.stdout.split())
    assert {"pw", "m-of-n", "dcw"} <= offered["racetrack"] and "preset" not in offered["racetrack"]
    assert {"preset", "appwom", "pw", "m-of-n"} <= offered["run"] and "baseline" not in offered["run"]
    assert {"baseline", "ps", "racetrack:pw"} <= offered["accuracy"]


@pytest.mark.parametrize("args, message", [
    (["--seed", "1", "--seeds", "2,3"], "not both"),
    (["--seeds", "ideal"], "'ideal' is not an integer"),
    (["--adc-bits", "4,x"], "'x' is not an integer"),
    (["--vary", "run.seed=0,2"], "vary the seed with --seeds"),  # the seed axis would override it
])
def test_analog_seed_options_are_one_error(tmp_path, capsys, args, message):
    assert main(["analog", *args, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_analog_adc_bits_repeatable():
    from archsim.cli.analog import _ints

    args = build_parser("analog").parse_args(["analog", "--adc-bits", "4,8", "--adc-bits", "ideal"])
    assert list(dict.fromkeys(_ints(",".join(args.adc_bits), "adc-bits", ideal=True))) == [4, 8, 0]


def test_a_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["completion", "fish"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert err.startswith("archsim: error: completion: argument shell: invalid choice: 'fish'")


@pytest.mark.parametrize("args, message", [
    (["accuracy", "--set", "wear_leveling=rotate", "--iterations", "2"], "the closed loop (archsim accuracy) does not level"),
    (["analog", "--vary", "pcm.set_energy_pj=1,2"], "archsim analog reads the analog.* keys"),
])
def test_options_a_command_would_ignore_are_one_error(tmp_path, capsys, args, message):
    assert main([*args, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_racetrack_json_is_not_overwritten_silently(tmp_path, capsys):
    target = tmp_path / "m.json"
    target.write_text("{}")
    assert main(["racetrack", "--matrix", "2,2,2", "--json", str(target)]) == 2
    assert "the file exists" in capsys.readouterr().err and target.read_text() == "{}"
    assert main(["racetrack", "--matrix", "2,2,2", "--json", str(target), "--overwrite"]) == 0
    assert "rows" in target.read_text()
    assert main(["racetrack", "--matrix", "2,2,2", "--schemes", "dcw"]) == 2
    assert "--schemes applies to --requests" in capsys.readouterr().err
    assert main(["racetrack", "--matrix", "2,2,2", "--json", str(tmp_path / "m.txt")]) == 2
    assert "name a .json file" in capsys.readouterr().err and not (tmp_path / "m.txt").exists()


def test_report_labels_and_baselines_are_checked(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["run", "--workload", "mlp-digits", "--iterations", "2", "--schemes", "preset", "--no-figures",
                 "--no-progress", "--out", str(run), "--cache-dir", str(tmp_path / "cache")]) == 0
    capsys.readouterr()
    assert main(["report", str(run), str(run), "--label", "A", "--label", "A", "--out", str(tmp_path / "p")]) == 2
    assert "every folder needs its own label" in capsys.readouterr().err
    assert main(["report", str(run), "--baseline", "nosuch", "--out", str(tmp_path / "q")]) == 2
    assert "--baseline applies to sweep folders" in capsys.readouterr().err


def test_a_section_of_another_memory_is_noted(tmp_path, caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        assert main(["run", "--workload", "mlp-digits", "--iterations", "2", "--schemes", "preset", "--no-figures",
                     "--no-progress", "--set", "racetrack.tracks=8", "--out", str(tmp_path / "o"),
                     "--cache-dir", str(tmp_path / "cache")]) == 0
    notes = [r.getMessage() for r in caplog.records if "configures the racetrack memory" in r.getMessage()]
    assert notes == ["note: [racetrack] is set, but it configures the racetrack memory and this run's is pcm "
                     "(run.memory): not used"]
    # [timing] without the timing observer, a workload's knobs under a trace: noted too, and silent when read
    trace = next((tmp_path / "cache").rglob("*.trace"))
    for extra, note in ((["--set", "timing.banks=4"], "note: [timing] is set, but no run observer reads it (the "
                         "timing model: run.observers = [\"timing\"], or --timing on the command line): not used"),
                        (["--trace", str(trace), "--set", "run.workload.lr=0.5"], "note: run.workload is set, but the "
                         "run replays run.trace, which was recorded with a workload and knobs of its own: not used"),
                        (["--set", "timing.banks=4", "--timing"], None)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert main(["run", "--iterations", "2", "--schemes", "preset", "--no-figures", "--no-progress",
                         "--out", str(tmp_path / "o"), "--overwrite", "--cache-dir", str(tmp_path / "cache"),
                         *extra]) == 0
        notes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("note:")]
        assert notes == ([note] if note else []), extra


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_scheme_lists_memories_and_config_keys(tmp_path, capsys):
    assert main(["completion", "bash"]) == 0
    (tmp_path / "archsim.bash").write_text(capsys.readouterr().out)

    def complete(*words: str) -> list[str]:
        probe = (f"source {tmp_path / 'archsim.bash'}; COMP_WORDS=({' '.join(words)}); "
                 f"COMP_CWORD={len(words) - 1}; _archsim_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        return subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout.split()

    assert complete("archsim", "run", "--schemes", "preset,wom") == ["preset,wom-set"]  # the item after the comma
    assert complete("archsim", "run", "--memory", "race") == ["racetrack"]
    assert complete("archsim", "run", "--set", "wear_leveling") == ["wear_leveling.name=", "wear_leveling="]
    assert "pcm.set_energy_pj=" in complete("archsim", "timing", "run", "--set", "pcm.set_")
    assert complete("archsim", "analog", "--presets", "ag") == ["ag-si"]
