"""NVMain traces (workloads/nvmain.py): parsing versions 0 and 1 of hand-written files, the mapping onto
archsim's line model, the export's exact text, and one line-numbered error per kind of bad line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from _trace_fixtures import small_meta, write_trace
from archsim.errors import TraceError
from archsim.layout import AddressLayout
from workloads import open_trace
from workloads.nvmain import open_nvmain, read_nvmain, sidecar_path, write_nvmain

ONE = "0000803f"          # float32 1.0, little-endian bytes 00 00 80 3f
TWO = "00000040"          # 2.0
HALF = "0000003f"         # 0.5


def line_hex(first_word: str, fill: str = "00000000", words: int = 16) -> str:
    return first_word + fill * (words - 1)


Z = "00" * 64
A = line_hex(ONE)
B = line_hex(TWO, HALF)


def write(tmp_path, text: str, name: str = "t.nvt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_version_1_hand_written(tmp_path):
    p = write(tmp_path, f"NVMV1\n"
                        f"10 W 0x40 {A} {Z} 0\n"
                        f"11 R 0x80 {Z} {Z} 3\n"
                        f"12 W 0x0 {B} {Z} 1\n"
                        f"20 W 40 {B} {A} 0\n"        # ADDRESS without 0x, as NVMain accepts
                        f"21\tW 0x0  {A} {B} 2\n")    # a tab and a double space separate fields too
    t = read_nvmain(p)
    assert t.version == 1 and t.requests == 5 and t.writes == 4 and t.reads == 1
    assert t.cycle.tolist() == [10, 11, 12, 20, 21]
    assert t.address.tolist() == [0x40, 0x80, 0, 0x40, 0]
    assert t.thread.tolist() == [0, 3, 1, 0, 2]
    assert t.line_numbers.tolist() == [2, 3, 4, 5, 6]
    assert t.data[0, :4].tolist() == [0x00, 0x00, 0x80, 0x3F]   # byte 0 first
    assert np.array_equal(t.old_data[3], t.data[0])

    s = open_nvmain(p)
    assert s.n_iterations == 2 and s.n_params == 2 * 16          # two written lines (0x80 is only read)
    assert s.line_addresses.tolist() == [0, 0x40]
    rows = np.concatenate(list(s.iter_chunks(1)))
    # iteration k = the k-th write of each line; line 0 = address 0x0, line 1 = 0x40
    assert rows[0, 0] == 2.0 and rows[0, 1] == 0.5 and rows[0, 16] == 1.0
    assert rows[1, 0] == 1.0 and rows[1, 16] == 2.0 and rows[1, 17] == 0.5
    assert s.meta.knobs == {"requests": 5, "reads": 1, "writes": 4}
    rec = np.concatenate(list(s.iter_records(8)))
    assert rec["iteration"].tolist() == [0, 1]


def test_version_0_hand_written(tmp_path):
    p = write(tmp_path, f"NVMV0\n5 W 0x0 {A} 7\n9 R 0x0 {A} 7\n12 W 0x0 {B} 7\n\n")  # trailing blank line
    t = read_nvmain(p)
    assert t.version == 0 and t.old_data is None and t.thread.tolist() == [7, 7, 7]
    s = open_nvmain(p)
    assert s.n_iterations == 2
    assert s.lines[:, 0, 0].view(np.float32).tolist() == [1.0, 2.0]


def test_other_line_sizes(tmp_path):
    p = write(tmp_path, f"NVMV1\n0 W 0x0 {ONE * 2} {'0' * 16} 0\n1 W 0x8 {TWO * 2} {'0' * 16} 0\n")
    s = open_nvmain(p, line_bytes=8)
    assert s.n_iterations == 1 and s.n_params == 4
    with pytest.raises(TraceError, match=r"t\.nvt:2: DATA has 16 hex digits; a line of 64 bytes needs 128"):
        open_nvmain(p)


@pytest.mark.parametrize("text, message", [
    ("", r"empty file"),
    (f"0 W 0x0 {A} 0\n", r"t\.nvt:1: no NVMain header"),
    (f"NVMV2\n0 W 0x0 {A} {Z} 0\n", r"t\.nvt:1: NVMain trace format 'NVMV2'; archsim reads versions NVMV0, NVMV1"),
    (f"NVMVx\n", r"t\.nvt:1: NVMain trace format"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0x40 {A} 0\n", r"t\.nvt:3: 5 fields; NVMV1 has 6: CYCLE OP ADDRESS DATA OLDDATA"),
    (f"NVMV0\n0 W 0x0 {A} {Z} 0\n", r"t\.nvt:2: 6 fields; NVMV0 has 5"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n\n1 W 0x0 {A} {Z} 0\n", r"t\.nvt:3: an empty line"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 X 0x0 {A} {Z} 0\n", r"t\.nvt:3: unknown OP 'X'; NVMain traces have R"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n-4 W 0x0 {A} {Z} 0\n", r"t\.nvt:3: CYCLE must be a non-negative decimal"),
    (f"NVMV1\n0x10 W 0x0 {A} {Z} 0\n", r"t\.nvt:2: CYCLE must be a non-negative decimal integer of at most 19 digits, not '0x10'"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0xg0 {A} {Z} 0\n", r"t\.nvt:3: ADDRESS is not a hexadecimal address: '0xg0'"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0x40 {A[:-2]} {Z} 0\n", r"t\.nvt:3: DATA has 126 hex digits"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0x40 {A[:-1]}z {Z} 0\n", r"t\.nvt:3: DATA is not hexadecimal"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0x40 {A} {Z}00 0\n", r"t\.nvt:3: OLDDATA has 130 hex digits"),
    (f"NVMV1\n0 W 0x0 {A} {Z} t1\n", r"t\.nvt:2: THREAD must be a non-negative decimal integer of at most 19 digits, not 't1'"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0x44 {A} {Z} 0\n", r"t\.nvt:3: ADDRESS 0x44 is not a multiple of the line size"),
    (f"NVMV1\n0 W 0x0 {line_hex('0000c07f')} {Z} 0\n", r"t\.nvt:2: word 0 of DATA is 0x7fc00000, a float32 nan"),
    (f"NVMV1\n0 R 0x0 {A} {Z} 0\n", r"t\.nvt: no writes \(1 reads\)"),
    (f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W 0x40 {A} {Z} 0\n2 W 0x0 {B} {A} 0\n",
     r"line 0x40 is written 1 times, line 0x0 2 times; .* written equally often"),
])
def test_bad_lines_are_one_error_naming_the_line(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(TraceError, match=message):
        open_nvmain(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(TraceError, match="no such NVMain trace"):
        open_nvmain(tmp_path / "none.nvt")
    with pytest.raises(TraceError, match="is a directory"):
        open_nvmain(tmp_path)


def test_export_text_and_replay(tmp_path):
    path, values = write_trace(tmp_path / "s.trace", n_iterations=3, rows_per_chunk=2)
    src = open_trace(path)
    layout = AddressLayout([(t.name, t.size) for t in src.meta.params], words_per_line=16)
    assert layout.lines == 4  # fc.weight: 35 values on 3 lines, fc.bias: 7 values on 1
    out = tmp_path / "s.nvt"
    info = write_nvmain(src, layout, out, period_cycles=10, first_cycle=100, chunk_iterations=2)
    assert info["requests"] == 12 and info["last_cycle"] == 100 + 2 * 10 + 3
    text = out.read_text().splitlines()
    assert text[0] == "NVMV1" and len(text) == 13
    lines = layout.to_lines(values)
    hexes = [[lines[t, i].astype("<u4").tobytes().hex() for i in range(4)] for t in range(3)]
    assert text[1] == f"100 W 0x0 {hexes[0][0]} {Z} 0"
    assert text[2] == f"101 W 0x40 {hexes[0][1]} {Z} 0"
    assert text[4] == f"103 W 0xc0 {hexes[0][3]} {Z} 0"
    assert text[5] == f"110 W 0x0 {hexes[1][0]} {hexes[0][0]} 0"      # OLDDATA: the previous content
    assert text[12] == f"123 W 0xc0 {hexes[2][3]} {hexes[1][3]} 0"    # across a chunk boundary too
    side = json.loads(sidecar_path(out).read_text())
    assert side["lines"] == 4 and side["meta"]["model"] == "tiny"

    back = open_nvmain(out)                       # with the side file: the original tensors, bit for bit
    assert back.meta.tensors == src.meta.tensors and back.n_iterations == 3
    rows = np.concatenate(list(back.iter_chunks(2)))
    assert np.array_equal(rows.view(np.uint32), values.view(np.uint32))

    plain = open_nvmain(out, sidecar=False)       # a plain NVMain trace: one tensor of whole lines
    assert plain.n_params == 64 and [t.name for t in plain.meta.tensors] == ["nvmain.lines"]
    assert np.array_equal(plain.lines, lines)


def test_a_side_file_that_does_not_fit(tmp_path):
    path, _ = write_trace(tmp_path / "s.trace", n_iterations=2)
    src = open_trace(path)
    layout = AddressLayout([(t.name, t.size) for t in src.meta.params], words_per_line=16)
    out = tmp_path / "s.nvt"
    write_nvmain(src, layout, out)
    doc = json.loads(sidecar_path(out).read_text())
    doc["line_bytes"] = 32
    sidecar_path(out).write_text(json.dumps(doc))
    with pytest.raises(TraceError, match=r"s\.nvt\.meta\.json: describes .* lines of 32 bytes, the trace has 4 lines "
                                         r"of 64 bytes"):
        open_nvmain(out)
    for text, why in (("{", "Expecting"), ("[]", "a JSON list, not an object"), ("5", "a JSON int"),
                      ('{"format": "archsim-nvmain-meta", "version": 1, "meta": []}', "")):
        sidecar_path(out).write_text(text)
        with pytest.raises(TraceError, match="not a valid side file.*" + why):
            open_nvmain(out)


def test_old_data_check(tmp_path):
    # line 0x0 starts from A (seeded), its second write says the old content was A (not B, its DATA before)
    p = write(tmp_path, f"NVMV1\n0 W 0x0 {B} {A} 0\n1 W 0x40 {A} {Z} 0\n2 W 0x0 {A} {A} 0\n3 W 0x40 {B} {A} 0\n")
    assert open_nvmain(p).old_data_check() == {"seeded_lines": 1, "mismatched_writes": 1}
    p0 = write(tmp_path, f"NVMV0\n0 W 0x0 {B} 0\n", "v0.nvt")
    assert open_nvmain(p0).old_data_check() == {"seeded_lines": 0, "mismatched_writes": 0}
    exported = write(tmp_path, f"NVMV1\n0 W 0x0 {B} {Z} 0\n1 W 0x0 {A} {B} 0\n", "ok.nvt")
    assert open_nvmain(exported).old_data_check() == {"seeded_lines": 0, "mismatched_writes": 0}


@pytest.mark.parametrize("address", ["-0x40", "+40", "0x4_0", "0x10000000000000000"])
def test_addresses_nvmain_would_not_read(tmp_path, address):
    p = write(tmp_path, f"NVMV1\n0 W 0x0 {A} {Z} 0\n1 W {address} {A} {Z} 0\n")
    with pytest.raises(TraceError, match=r"t\.nvt:3: ADDRESS is not a hexadecimal address"):
        read_nvmain(p)


def test_an_export_refuses_a_negative_first_cycle_and_a_folder_and_leaves_nothing_behind(tmp_path):
    path, _ = write_trace(tmp_path / "s.trace", n_iterations=2)
    src = open_trace(path)
    layout = AddressLayout([(t.name, t.size) for t in src.meta.params], words_per_line=16)
    with pytest.raises(TraceError, match="the first cycle must be a non-negative integer, not -10"):
        write_nvmain(src, layout, tmp_path / "n.nvt", first_cycle=-10)   # a file read_nvmain then refused
    (tmp_path / "d").mkdir()
    with pytest.raises(TraceError, match="is a folder"):
        write_nvmain(src, layout, tmp_path / "d")

    class Failing:
        n_iterations, meta = src.n_iterations, src.meta

        def iter_chunks(self, n):
            yield next(src.iter_chunks(1))
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_nvmain(Failing(), layout, tmp_path / "f.nvt")

    class NonFinite(Failing):   # a trace written with finite=False: an export would be refused where it is read
        def iter_chunks(self, n):
            for block in src.iter_chunks(n):
                block = block.copy()
                block[-1, 3] = np.nan
                yield block

    with pytest.raises(TraceError, match=r"export: iteration 1: .* holds nan"):
        write_nvmain(NonFinite(), layout, tmp_path / "nan.nvt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "s.trace"]
