"""Every trace source (a recorded trace, the synthetic generator, an NVMain trace) checks the arguments of
``iter_chunks``/``iter_records`` alike: one TypeError or ValueError naming the argument, not a deep
traceback or an empty iteration."""
from __future__ import annotations

import numpy as np
import pytest

from _trace_fixtures import write_trace
from archsim.config import Config
from archsim.layout import AddressLayout
from workloads import make_source, open_trace
from workloads.nvmain import open_nvmain, write_nvmain


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sources")
    path, _ = write_trace(tmp / "t.trace", n_iterations=6, rows_per_chunk=4)
    trace = open_trace(path)
    synthetic = make_source("synthetic-lenet", iterations=3, seed=0)
    write_nvmain(trace, AddressLayout.from_meta(trace.meta, Config().layout), tmp / "t.nvt")
    return {"trace": trace, "synthetic": synthetic, "nvmain": open_nvmain(tmp / "t.nvt")}


@pytest.mark.parametrize("kind", ["trace", "synthetic", "nvmain"])
@pytest.mark.parametrize("method", ["iter_chunks", "iter_records"])
@pytest.mark.parametrize("args, error, message", [
    ((2.5,), TypeError, "chunk_iterations must be an integer, not 2.5"),
    ((True,), TypeError, "chunk_iterations must be an integer, not True"),
    ((0,), ValueError, "chunk_iterations must be >= 1, not 0"),
    ((2, 1.0), TypeError, "start must be an integer, not 1.0"),
    ((2, -1), ValueError, "start -1 outside 0.."),
    ((2, 10**6), ValueError, "start 1000000 outside 0.."),
])
def test_bad_chunk_arguments_are_one_error(sources, kind, method, args, error, message):
    with pytest.raises(error, match=message.replace(".", r"\.")):
        next(iter(getattr(sources[kind], method)(*args)))


@pytest.mark.parametrize("kind", ["trace", "synthetic", "nvmain"])
def test_numpy_integers_are_taken(sources, kind):
    s = sources[kind]
    rows = np.concatenate(list(s.iter_chunks(np.int64(2), np.int32(1))))
    assert rows.shape == (s.n_iterations - 1, s.n_params)
