"""Golden statistics: the committed tables of a few configurations come out byte-identical.

A change that moves a number here is a bug until it is explained; when it is intended, record the
tables again with ``python tests/golden/cases.py --update`` and say why in the commit.
"""
from __future__ import annotations

import pytest

from cases import CASES, DATA, blas_mismatch, run_case


@pytest.mark.parametrize("case", list(CASES))
def test_tables_are_byte_identical(case, tmp_path):
    if blas_mismatch():
        pytest.skip(blas_mismatch())
    expected = {str(p.relative_to(DATA / case)): p.read_bytes() for p in sorted((DATA / case).rglob("*.csv"))}
    assert expected, f"no golden tables for {case}"
    got = run_case(case, tmp_path / case)
    assert sorted(got) == sorted(expected), f"{case}: other tables than the golden ones"
    for name, data in expected.items():
        assert got[name] == data, f"{case}/{name} differs from the golden table"
