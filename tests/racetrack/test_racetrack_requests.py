"""Request files: parsing, errors naming the line, replay against the reference, the CLI."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.cli import main
from archsim.errors import ArchsimError
from archsim.racetrack import RacetrackConfig, parse_requests, replay_requests
from archsim.racetrack.reference import reference_requests
from archsim.racetrack.requests import Requests

GOLDEN = "# hand-computed example\nW 0 0 15\nW 0 1 240\nW 0 0 3\nR 0 1\n"
SMALL = RacetrackConfig(tracks=1, data_per_track=2, item_bits=8, segment_bits=8, ports_per_track=1,
                        port_placement="start")


def test_golden_dcw(tmp_path):
    """One port at the head of a track of two 8-position items (walk 8), lazy return:
    W 0 0 15: 0 + 7 shifts (end at 7), 4 insertions; W 0 1 240: 1 + 7 (end at 15), 4 insertions;
    W 0 0 3: from 15 the item's far end (7) is nearer: 8 + 7 shifts, 2 removals; R 0 1: 8 + 7.
    Every access detects 8 positions."""
    f = tmp_path / "g.txt"
    f.write_text(GOLDEN)
    r = replay_requests(parse_requests(f, SMALL), "dcw", SMALL).summary()
    assert (r["insertions"], r["removals"], r["detects"], r["shifts"]) == (8, 2, 32, 45)
    assert r["latency_ns"] == pytest.approx(45 * 0.5 + 32 * 0.1 + 2 * 0.8 + 8 * 1.0)
    assert r["energy_pj"] == pytest.approx(45 * 0.5 + 32 * 0.1 + 2 * 0.8 + 8 * 1.0)
    naive = replay_requests(parse_requests(f, SMALL), "naive", SMALL).summary()
    assert (naive["insertions"], naive["removals"], naive["detects"]) == (10, 24, 8)


def test_a_whole_configuration_is_read_for_its_racetrack_section(tmp_path):
    from archsim.config import load_config

    f = tmp_path / "g.txt"
    f.write_text(GOLDEN)
    cfg = load_config(None, ["racetrack.tracks=1", "racetrack.data_per_track=2", "racetrack.item_bits=8",
                             "racetrack.segment_bits=8", "racetrack.ports_per_track=1",
                             "racetrack.port_placement=start"])
    whole = replay_requests(parse_requests(f, cfg), "dcw", cfg).summary()
    assert whole == replay_requests(parse_requests(f, SMALL), "dcw", SMALL).summary()
    with pytest.raises(TypeError, match=r"needs its \[racetrack\] parameters .* not dict"):
        parse_requests(f, {"tracks": 1})


def test_reads_return_written_values(tmp_path):
    cfg = RacetrackConfig(tracks=3, data_per_track=5, segment_bits=16)
    f = tmp_path / "r.txt"
    f.write_text("W 2 4 18446744073709551615\nR 2 4\nR 1 1\nW 0 3 12345678901\nR 0 3 99\n")
    for scheme in ("naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n"):
        r = replay_requests(parse_requests(f, cfg), scheme, cfg, want_reads=True)
        assert r.stored.tolist() == [0, 2**64 - 1, 0, 0, 12345678901]


@settings(max_examples=30)
@given(st.sampled_from(["naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n"]),
       st.sampled_from([8, 16, 32, 64]), st.sampled_from(["serial", "spread"]),
       st.sampled_from(["static", "dynamic"]), st.sampled_from(["lazy", "eager"]), st.integers(1, 3),
       st.lists(st.tuples(st.booleans(), st.integers(0, 2), st.integers(0, 4), st.integers(0, 2**64 - 1)),
                min_size=1, max_size=25))
def test_replay_matches_reference(scheme, w, layout, choice, policy, ports, reqs):
    cfg = RacetrackConfig(tracks=3, data_per_track=5, segment_bits=w, layout=layout, port_choice=choice,
                          return_policy=policy, ports_per_track=ports, tracks_per_cluster=2)
    r = Requests.from_arrays([0 if wr else 1 for wr, *_ in reqs], [t for _, t, _, _ in reqs],
                             [i for *_, i, _ in reqs], [v if wr else 0 for wr, _, _, v in reqs])
    got = replay_requests(r, scheme, cfg, want_reads=True)
    totals, reads = reference_requests(cfg, scheme, r)
    assert [got.insertions, got.removals, got.detects, got.shifts, got.path_insertions, got.path_removals,
            got.path_detects, got.line_writes, got.reads] == totals
    assert got.stored.tolist() == reads


@pytest.mark.parametrize("text, message", [
    ("W 0 1\n", ":1: a write is"),
    ("R 0\n", ":1: a read is"),
    ("W 0 1 2 3\n", ":1: a write is"),
    ("# ok\nW 0 x 5\n", ":2: index 'x' is not"),
    ("W -1 0 5\n", ":1: track '-1' is not"),
    ("W 0 0 18446744073709551616\n", ":1: value 18446744073709551616 does not fit in 64 bits"),
    ("W 4 0 1\n", ":1: track 4 is out of range (0..3, --tracks 4)"),
    ("R 0 8\n", ":1: data index 8 is out of range (0..7, --data-per-track 8)"),
])
def test_bad_lines_name_file_and_line(tmp_path, text, message):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(ArchsimError) as exc:
        parse_requests(f, RacetrackConfig(tracks=4, data_per_track=8))
    assert str(exc.value).startswith(str(f))
    assert message in str(exc.value)


def test_value_too_wide_for_the_item(tmp_path):
    f = tmp_path / "w.txt"
    f.write_text("W 0 0 255\nW 0 0 256\n")
    cfg = RacetrackConfig(tracks=1, data_per_track=1, item_bits=8, segment_bits=8)
    with pytest.raises(ArchsimError, match=r"w.txt:2: value 256 is too wide for a data item of 8 bits"):
        parse_requests(f, cfg)


def test_comments_and_blank_lines_are_skipped(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("\n# c\nwrite 1 2 3\nX\nW 0 0 1\n  R 0 0\n")
    r = parse_requests(f, RacetrackConfig(tracks=1, data_per_track=1))
    assert len(r) == 2 and r.line.tolist() == [5, 6]


def test_cli_json(tmp_path, capsys):
    f = tmp_path / "g.txt"
    f.write_text(GOLDEN)
    out = tmp_path / "o" / "r.json"
    rc = main(["racetrack", "--requests", str(f), "--schemes", "dcw", "--segment-bits", "8", "--item-bits", "8",
               "--tracks", "1", "--data-per-track", "2", "--set", "racetrack.ports_per_track=1",
               "--set", "racetrack.port_placement=start", "--json", str(out), "--out", str(tmp_path / "folder")])
    assert rc == 0
    data = json.loads(out.read_text())
    table = pd.read_csv(tmp_path / "folder" / "racetrack.csv")
    assert table.loc[0, ["insertions", "removals", "shifts", "detects"]].tolist() == [8, 2, 45, 32]
    assert (tmp_path / "folder" / "racetrack.png").exists() and (tmp_path / "folder" / "config.toml").exists()
    assert {k: data[k] for k in ("insertions", "removals", "shifts", "detects")} == \
        {"insertions": 8, "removals": 2, "shifts": 45, "detects": 32}
    assert data["latency_ns"] == pytest.approx(35.3) and data["energy_pj"] == pytest.approx(35.3)
    printed = capsys.readouterr().out
    assert "shifts" in printed and "45" in printed


@pytest.mark.parametrize("args, message", [
    (["--scheme", "dcw"], "bad.txt:2:"),
    (["--scheme", "nope"], "unknown racetrack write scheme 'nope'"),
    (["--scheme", "dcw", "--segment-bits", "12"], "racetrack.segment_bits must be 8, 16, 32 or 64"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    f = tmp_path / "bad.txt"
    f.write_text("W 0 0 1\nW 0 0\n")
    rc = main(["racetrack", "--requests", str(f), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err


def test_cli_missing_file(tmp_path, capsys):
    assert main(["racetrack", "--requests", str(tmp_path / "none.txt")]) == 2
    assert "request file not found" in capsys.readouterr().err


def test_cli_matrix(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["racetrack", "--matrix", "4,4,4", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["variant"] for r in rows] == ["no buffer", "buffer track", "copy", "skip (remap)"]
    assert "50%" in capsys.readouterr().out
    assert main(["racetrack", "--matrix", "4,x,4"]) == 2


def test_byte_order_mark_and_requests_written_wrong(tmp_path):
    from archsim.racetrack import RacetrackConfig, parse_requests
    from archsim.racetrack.requests import RequestFileError

    cfg = RacetrackConfig(tracks=4, data_per_track=8)
    p = tmp_path / "bom.txt"
    p.write_bytes("W 0 1 5\nR 0 1\n".encode("utf-8-sig"))
    assert len(parse_requests(p, cfg).op) == 2  # the first request is not lost to the BOM
    for line in ("w 0 1 5", "r 0 1", "W0 1 5", "W,0,1,5", "R;0;1", "W, 0 1 5"):
        p.write_text(f"# header\n{line}\n")
        with pytest.raises(RequestFileError, match=r":2: .*looks like a request"):
            parse_requests(p, cfg)
    p.write_text("# a comment\nwrite-heavy section follows\nW 0 1 5\n")
    assert len(parse_requests(p, cfg).op) == 1  # a line of words is a comment, as the format says
    p.write_text("Write 3 requests below, then 2 reads\nR: reads follow\nW 0 1 5\n")
    assert len(parse_requests(p, cfg).op) == 1  # words after W or R, words and numbers mixed: still comments
    for text in ("", "# only comments\nop track index value\n"):
        p.write_text(text)
        with pytest.raises(RequestFileError, match=r"bom.txt: no requests \(a request is a line 'W <track>"):
            parse_requests(p, cfg)


def test_cli_several_schemes_one_row_each(tmp_path, capsys):
    f = tmp_path / "g.txt"
    f.write_text(GOLDEN)
    common = ["racetrack", "--requests", str(f), "--segment-bits", "8", "--item-bits", "8", "--tracks", "1",
              "--data-per-track", "2", "--no-progress"]
    assert main([*common, "--schemes", "dcw,naive", "--out", str(tmp_path / "both"), "--no-figures"]) == 0
    both = pd.read_csv(tmp_path / "both" / "racetrack.csv")
    assert both["scheme"].tolist() == ["dcw", "naive"] and not (tmp_path / "both" / "racetrack.png").exists()
    for name in ("dcw", "naive"):  # each row is that scheme's replay on its own
        assert main([*common, "--scheme", name, "--json", str(tmp_path / f"{name}.json")]) == 0
        alone = json.loads((tmp_path / f"{name}.json").read_text())
        assert both.set_index("scheme").loc[name, "shifts"] == alone["shifts"]


def test_cli_out_is_a_folder(tmp_path, capsys):
    assert main(["racetrack", "--matrix", "4,4,4", "--out", str(tmp_path / "m.json")]) == 2
    assert "--json FILE.json" in capsys.readouterr().err


@pytest.mark.parametrize("arrays, message", [
    (([0] * 50, [0], [0] * 50, [1] * 50), "op, track, index, value must have one length, not 50, 1, 50, 50"),
    (([0, 0], [0, 1], [0, 1], [0.25, 3.7]), "value must be a 1-D array of non-negative integers, not float64"),
    (([0, 0], [0, 1], [0, 1], [-1, 3]), "value must be a 1-D array of non-negative integers, not int64 .* negative"),
    (([0, 2], [0, 1], [0, 1], None), r"op must be 0 \(write\) or 1 \(read\), not 2"),
    (([[0, 0]], [[0, 1]], [[0, 1]], None), "op must be a 1-D array"),
])
def test_requests_from_arrays_are_checked_before_the_kernel(arrays, message):
    # arrays of unequal lengths reached the kernel, which read past the short ones (a segmentation fault)
    with pytest.raises(ArchsimError, match=message):
        Requests.from_arrays(*arrays)
    ok = Requests.from_arrays([0, 1], [0, 0], [0, 1], [2**64 - 1, 0])  # a 64-bit value from a Python list
    assert ok.value[0] == 2**64 - 1
    bad = Requests(np.zeros(3, np.uint8), np.zeros(1, np.int64), np.zeros(3, np.int64), np.zeros(3, np.uint64),
                   np.arange(1, 4))
    with pytest.raises(ArchsimError, match="must have one length, not 3, 1, 3, 3, 3"):
        replay_requests(bad, "dcw", SMALL)
