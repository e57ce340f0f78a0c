"""Output folders: atomic tables, a manifest written last, the reuse rules, report refusing incomplete folders."""
from __future__ import annotations

import errno
import json

import pandas as pd
import pytest

from archsim.cli import main
from archsim.errors import ArchsimError
from archsim.outputs import MANIFEST, OutputFolder

RUN = ["run", "--workload", "mlp-digits", "--iterations", "3", "--schemes", "dcw,appwom", "--no-figures",
       "--no-progress"]


def test_a_complete_folder_is_refused_then_overwritten_without_stale_tables(tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*RUN, "--timing", "--out", str(out)]) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and manifest["command"] == "run" and "timing_banks.csv" in manifest["files"]
    capsys.readouterr()
    assert main([*RUN, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds the complete results of `archsim run`" in err and "--overwrite" in err and err.count("\n") == 1
    assert main([*RUN, "--out", str(out), "--overwrite"]) == 0
    assert not (out / "timing_banks.csv").exists()  # the earlier run's tables are gone, not left beside
    assert "timing_banks.csv" not in json.loads((out / MANIFEST).read_text())["files"]


def test_a_foreign_folder_is_never_written_into(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert main([*RUN, "--out", str(out), "--overwrite"]) == 2
    assert "not an archsim results folder" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "my notes" and len(list(out.iterdir())) == 1


def test_report_refuses_incomplete_folders(tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*RUN, "--out", str(out)]) == 0
    m = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**m, "complete": False}))
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 2
    assert "incomplete results" in capsys.readouterr().err
    (out / MANIFEST).unlink()
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    # a truncated table named by a complete manifest is an error naming the file, not a drawing
    (out / MANIFEST).write_text(json.dumps(m))
    for f in ("summary.parquet",):
        (out / f).write_bytes((out / f).read_bytes()[:100])
    assert main(["report", str(out), "--out", str(tmp_path / "rep2")]) == 2
    assert "summary.parquet" in capsys.readouterr().err


def test_tables_are_written_atomically_and_errors_name_the_path(tmp_path, monkeypatch):
    folder = OutputFolder(tmp_path / "o", "test")
    df = pd.DataFrame({"a": [1, 2, 3]})

    def half_then_full(self, path, **kw):
        with open(path, "w") as f:
            f.write("a\n1\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    with pytest.raises(ArchsimError, match=r"o/t\.csv: cannot write: No space left on device"):
        folder.table(df, "t")
    assert [p.name for p in (tmp_path / "o").iterdir()] == [MANIFEST]  # no table, no temporary file
    assert not json.loads((tmp_path / "o" / MANIFEST).read_text())["complete"]


def test_resumable_commands_reuse_their_folder(tmp_path):
    out = tmp_path / "acc"
    args = ["accuracy", "--workload", "mlp-digits", "--schemes", "baseline,ps", "--iterations", "5",
            "--eval-every", "5", "--out", str(out), "--no-figures", "--no-progress"]
    assert main(args) == 0
    first = (out / "accuracy.csv").read_bytes()
    assert main(args) == 0  # finished schemes come from the saved state
    assert (out / "accuracy.csv").read_bytes() == first
    assert main([*args, "--overwrite"]) == 0 and (out / "accuracy.csv").read_bytes() == first
    assert main([*RUN, "--out", str(out)]) == 2  # a folder of another command


def test_a_split_run_resumed_in_a_folder_keeps_no_table_of_the_earlier_run(tmp_path, capsys):
    # a split run's folder, rerun with one scheme: the earlier run's ratios and figures are gone with it (they
    # would be listed as the new run's); the saved parts stay
    out = tmp_path / "s"
    split = ["run", "--workload", "mlp-digits", "--iterations", "3", "--no-progress", "--shards", "2", "--out", str(out)]
    assert main([*split, "--schemes", "preset,appwom"]) == 0
    assert {"ratios.csv", "energy.png"} <= set(json.loads((out / MANIFEST).read_text())["files"])
    assert main([*split, "--schemes", "preset", "--no-figures"]) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and "summary.csv" in manifest["files"] and manifest["state"]
    for stale in ("ratios.csv", "ratios.parquet", "energy.png", "energy.pdf"):
        assert stale not in manifest["files"] and not (out / stale).exists()
    assert list(pd.read_csv(out / "summary.csv")["scheme"]) == ["preset"]
    # a complete folder without saved state (an unsplit run's) is not taken over by a split run
    plain = tmp_path / "p"
    assert main([*RUN, "--timing", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main([*RUN, "--shards", "2", "--out", str(plain)]) == 2
    assert "holds the complete results of `archsim run`" in capsys.readouterr().err
    assert main([*RUN, "--shards", "2", "--out", str(plain), "--overwrite"]) == 0
    assert not (plain / "timing_banks.csv").exists()


def test_a_rerun_that_fails_leaves_the_earlier_results_and_parts_on_disk(tmp_path, capsys):
    # the earlier run's tables are not removed when the folder is claimed: a rerun failing before its end (here
    # its trace moved away) leaves them, unlisted, and the saved parts untouched; the next rerun completes
    from test_run import write_tiny_trace

    trace = write_tiny_trace(tmp_path / "t.trace", iterations=6)[0]
    out = tmp_path / "s"
    args = ["run", "--trace", str(trace), "--schemes", "preset,appwom", "--iterations", "6", "--no-figures",
            "--no-progress", "--shards", "2", "--out", str(out)]
    assert main(args) == 0
    summary = (out / "summary.csv").read_bytes()
    parts = {p: p.stat().st_mtime_ns for p in (out / "parts").rglob("*") if p.is_file()}
    assert parts
    trace.rename(tmp_path / "moved.trace")
    capsys.readouterr()
    assert main(args) == 2
    manifest = json.loads((out / MANIFEST).read_text())
    assert not manifest["complete"] and "summary.csv" in manifest["stale"] and "summary.csv" not in manifest["files"]
    assert (out / "summary.csv").read_bytes() == summary
    assert {p: p.stat().st_mtime_ns for p in (out / "parts").rglob("*") if p.is_file()} == parts
    (tmp_path / "moved.trace").rename(trace)
    assert main([a if a != "preset,appwom" else "preset" for a in args]) == 0   # fewer schemes: no ratios now
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and "stale" not in manifest and not (out / "ratios.csv").exists()
    assert all((out / f).exists() for f in manifest["files"])
