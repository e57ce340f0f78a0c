"""The trace container: exact round trip, crash safety, and one clear error per kind of bad file."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from archsim.errors import TraceError
from workloads import open_trace
from workloads.trace_layout import JOURNAL_FILE, META_FILE, crc32, encode_line, npy_bytes
from workloads.trace_writer import TraceWriter

from _trace_fixtures import small_meta, trace_values, write_trace

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("chunk", [1, 3, 5, 7, 23, 100])
@pytest.mark.parametrize("start", [0, 4, 5, 22])
def test_replay_gives_back_exactly_what_was_recorded(tmp_path, chunk, start):
    path, values = write_trace(tmp_path / "t.trace")
    r = open_trace(path)
    blocks = list(r.iter_chunks(chunk, start))
    assert all(b.dtype == np.float32 and b.shape[1] == r.n_params for b in blocks)
    assert all(len(b) == chunk for b in blocks[:-1]) and 1 <= len(blocks[-1]) <= chunk
    got = np.concatenate(blocks)
    assert got.view(np.uint32).tobytes() == values[start:].view(np.uint32).tobytes()


def test_without_prefetch_and_records(tmp_path):
    path, values = write_trace(tmp_path / "t.trace")
    r = open_trace(path, prefetch=False)
    np.testing.assert_array_equal(r.read(), values)
    rec = r.records()
    assert list(rec["iteration"]) == list(range(23))
    assert list(rec["loss"]) == [float(i) for i in range(23)]
    assert (rec["batch_size"] == 4).all()


def test_metadata_round_trip(tmp_path):
    meta = small_meta()
    path, _ = write_trace(tmp_path / "t.trace", meta=meta)
    got = open_trace(path).meta
    assert got.complete and got.n_iterations == 23
    assert got.replace(complete=False, n_iterations=0) == meta
    assert got.n_params == 7 * 5 + 7
    assert [t.offset for t in got.params] == [0, 35]


def test_nan_inf_and_negative_zero_survive_bit_for_bit(tmp_path):
    meta = small_meta(1, 3)
    words = np.array([[0x7FC00001, 0x80000000, 0x7F800000, 0x00000001]], np.uint32)
    with TraceWriter(tmp_path / "t.trace", meta, fsync=False, finite=False) as w:
        w.append(words.view(np.float32)[0], iteration=0)
    assert open_trace(tmp_path / "t.trace").read().view(np.uint32).tolist() == words.tolist()


def test_every_and_append_block(tmp_path):
    meta = small_meta().replace(every=3, first_iteration=2)
    values = trace_values(10, meta.n_params)
    with TraceWriter(tmp_path / "t.trace", meta, rows_per_chunk=4, fsync=False) as w:
        w.append_block(values, iterations=np.arange(2, 32, 3))
    r = open_trace(tmp_path / "t.trace")
    assert r.meta.every == 3 and r.meta.first_iteration == 2
    assert list(r.records()["iteration"]) == list(range(2, 32, 3))
    np.testing.assert_array_equal(r.read(), values)


def test_writer_rejects_wrong_rows_and_existing_paths(tmp_path):
    meta = small_meta()
    with TraceWriter(tmp_path / "t.trace", meta, fsync=False) as w:
        with pytest.raises(ValueError, match="float32"):
            w.append(np.zeros(meta.n_params, np.float64), iteration=0)
        with pytest.raises(ValueError, match="float32"):
            w.append(np.zeros(meta.n_params + 1, np.float32), iteration=0)
    with pytest.raises(TraceError, match="already exists"):
        TraceWriter(tmp_path / "t.trace", meta)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(TraceError, match="not a trace"):
        TraceWriter(tmp_path / "notes.txt", meta, overwrite=True)


CRASH_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from _trace_fixtures import small_meta, trace_values
    from workloads.trace_writer import TraceWriter
    meta = small_meta()
    values = trace_values(100, meta.n_params)
    w = TraceWriter(sys.argv[1], meta, rows_per_chunk=6)
    for i, row in enumerate(values):
        if i == 40:
            os.kill(os.getpid(), signal.SIGKILL)   # crash mid-recording: no close, no flush
        w.append(row, iteration=i)
""")


def test_crash_mid_recording_leaves_a_readable_prefix(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests" / "helpers")))
    path = tmp_path / "crashed.trace"
    proc = subprocess.run([sys.executable, str(script), str(path)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    r = open_trace(path)
    assert not r.meta.complete
    assert r.n_iterations == 36  # six committed chunks of 6; the 4 buffered rows are lost
    np.testing.assert_array_equal(r.read(), trace_values(100, r.n_params)[:36])


def test_torn_journal_line_and_stray_files_are_ignored(tmp_path):
    path, values = write_trace(tmp_path / "t.trace", rows_per_chunk=5)
    # simulate a crash while committing the next chunk: its files half written, journal line torn
    journal = path / JOURNAL_FILE
    lines = journal.read_bytes().split(b"\n")
    end = lines[-2]
    journal.write_bytes(b"\n".join(lines[:-2]) + b"\n" + end[: len(end) // 2])
    (path / "params-000005.npy.tmp").write_bytes(b"\x93NUMPY half")
    (path / "params-000005.npy").write_bytes(npy_bytes(values[:2]))
    r = open_trace(path)
    assert not r.meta.complete and r.n_iterations == 23
    np.testing.assert_array_equal(r.read(), values)


def test_exception_while_recording_keeps_buffered_rows(tmp_path):
    meta = small_meta()
    values = trace_values(8, meta.n_params)
    with pytest.raises(RuntimeError):
        with TraceWriter(tmp_path / "t.trace", meta, rows_per_chunk=5, fsync=False) as w:
            for i, row in enumerate(values):
                w.append(row, iteration=i)
            raise RuntimeError("training diverged")
    r = open_trace(tmp_path / "t.trace")
    assert not r.meta.complete
    np.testing.assert_array_equal(r.read(), values)


# -- bad files: each gets one TraceError naming the file and the fault ------------------------
def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_meta(path: Path, change) -> None:
    """Edit meta.json and re-sign it in the journal, so only the edited fault remains."""
    meta_path = path / META_FILE
    header = json.loads(meta_path.read_text())
    change(header)
    data = (json.dumps(header, indent=1, sort_keys=True) + "\n").encode()
    meta_path.write_bytes(data)
    journal = path / JOURNAL_FILE
    lines = journal.read_bytes().split(b"\n")
    lines[0] = encode_line({"meta_crc32": crc32(data), "meta_bytes": len(data)}).rstrip(b"\n")
    journal.write_bytes(b"\n".join(lines))


def _open_error(path) -> str:
    with pytest.raises(TraceError) as info:
        r = open_trace(path)
        for _ in r.iter_chunks(4):
            pass
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_missing_path(tmp_path):
    assert "no such file" in _open_error(tmp_path / "nope.trace")


def test_foreign_file(tmp_path):
    f = tmp_path / "weights.npy"
    np.save(f, np.zeros(3))
    assert "not an archsim trace" in _open_error(f)


def test_foreign_directory(tmp_path):
    (tmp_path / "d").mkdir()
    assert "not an archsim trace (no meta.json)" in _open_error(tmp_path / "d")
    (tmp_path / "d" / META_FILE).write_text('{"format": "zarr", "version": 3}')
    assert "not an archsim trace" in _open_error(tmp_path / "d")
    (tmp_path / "d" / META_FILE).write_text("{not json")
    assert "not valid JSON" in _open_error(tmp_path / "d")


def test_wrong_version(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    _rewrite_meta(path, lambda h: h.update(version=99))
    assert "format version 99" in _open_error(path)


def test_corrupt_values_never_yield_numbers(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    _flip_byte(path / "params-000002.npy", -3)
    r = open_trace(path)  # sizes and headers are fine: opening succeeds
    got = []
    with pytest.raises(TraceError, match=r"params-000002.npy is corrupt \(CRC-32 mismatch\)"):
        for block in r.iter_chunks(5):
            got.append(block)
    assert len(got) == 2  # the two good chunks before it, nothing from the bad one
    with pytest.raises(TraceError, match="params-000002.npy is corrupt"):
        r.verify()


def test_corrupt_metadata(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    meta_path = path / META_FILE
    meta_path.write_text(meta_path.read_text().replace('"learning_rate": 0.1', '"learning_rate": 0.7'))
    assert "meta.json is corrupt" in _open_error(path)


def test_corrupt_journal_line(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    journal = path / JOURNAL_FILE
    lines = journal.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"rows":5', b'"rows":6')
    journal.write_bytes(b"\n".join(lines))
    assert "journal.jsonl line 3 is corrupt" in _open_error(path)


def test_truncated_chunk(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    f = path / "params-000003.npy"
    f.write_bytes(f.read_bytes()[:-10])
    assert "params-000003.npy is truncated" in _open_error(path)


def test_missing_chunk(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    (path / "records-000001.npy").unlink()
    assert "records-000001.npy is missing" in _open_error(path)


def test_shape_does_not_match_metadata(tmp_path):
    path, values = write_trace(tmp_path / "t.trace")
    _rewrite_meta(path, lambda h: h["tensors"][1].update(shape=[8]))   # metadata claims 43 values
    assert "has shape (5, 42), the metadata says (5, 43)" in _open_error(path)


def test_inconsistent_metadata(tmp_path):
    path, _ = write_trace(tmp_path / "t.trace")
    _rewrite_meta(path, lambda h: h["tensors"][1].update(kind="activation"))
    assert "meta.json is inconsistent" in _open_error(path)


def test_replay_memory_is_bounded(tmp_path):
    """Peak allocation while streaming does not grow with the trace length."""
    meta = small_meta(100, 100)
    peaks = []
    for n in (40, 400):
        path = tmp_path / f"t{n}.trace"
        values = trace_values(n, meta.n_params)
        with TraceWriter(path, meta, rows_per_chunk=10, fsync=False) as w:
            w.append_block(values, iterations=np.arange(n))
        r = open_trace(path)
        tracemalloc.start()
        total = 0
        for block in r.iter_chunks(7):
            total += float(block.sum(dtype=np.float64))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert total == pytest.approx(float(values.sum(dtype=np.float64)), rel=1e-6)
    assert peaks[1] < 1.5 * peaks[0] + 100_000, peaks
    assert peaks[1] < 400 * meta.n_params * 4 / 4   # far below the trace size


def test_append_block_names_per_row_values_that_do_not_fit(tmp_path):
    # numpy's broadcast error (or a TypeError for None) before
    meta = small_meta()
    block = np.zeros((3, meta.n_params), np.float32)
    with TraceWriter(tmp_path / "b.trace", meta, fsync=False) as w:
        with pytest.raises(ValueError, match=r"iterations must be one number or one per row of the block \(3\), "
                                             r"not \(2,\)"):
            w.append_block(block, iterations=[0, 1])
        with pytest.raises(ValueError, match="losses must be one number or one per row"):
            w.append_block(block, iterations=[0, 1, 2], losses=[0.5, 0.4])
        w.append_block(block, iterations=[0, 1, 2])
    assert open_trace(tmp_path / "b.trace").n_iterations == 3
