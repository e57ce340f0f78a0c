"""The worked example of pcm.md (paper Fig. 7), which must come out exactly."""
import numpy as np
import pytest

from archsim.pcm import replay

WRITES = np.array([[0b00011011], [0b11101110], [0b01010101]], dtype=np.uint8)
COSTS = dict(word_bits=8, set_energy_pj=14, reset_energy_pj=20)


def run(scheme, **kw):
    return replay(scheme, WRITES, **COSTS, **kw)


def test_preset_raw_write():
    r = run("preset")
    assert (r.bit_flips, r.energy_pj) == (20, 340)
    assert (r.set_flips, r.reset_flips) == (10, 10)


@pytest.mark.parametrize("polarity, energy, kind", [("10", 240, "reset"), ("01", 168, "set")])
def test_appwom(polarity, energy, kind):
    r = run("appwom", grouping="adjacent", initial_polarity=polarity)
    assert (r.bit_flips, r.energy_pj) == (12, energy)
    # AppWOM10 only RESETs (writes and the closing PreRESET), AppWOM01 only SETs
    assert getattr(r, f"{kind}_flips") == 12
    # every cell flips exactly once: three writes in one generation, then the ping-pong refresh
    assert r.wear.shape == (1, 1, 12)
    assert (r.wear == 1).all()
    assert r.refreshes == 1
    # approximate: the second write's unimportant-only changes are ignored
    assert [int(v) for v in r.stored[:, 0]] == [0b00001011, 0b11101011, 0b01010101]


def test_wom_set_lies_strictly_between():
    raw = run("preset")
    app10 = run("appwom", grouping="adjacent", initial_polarity="10")
    app01 = run("appwom", grouping="adjacent", initial_polarity="01")
    wom = run("wom-set")
    assert app10.bit_flips < wom.bit_flips < raw.bit_flips
    assert max(app10.energy_pj, app01.energy_pj) < wom.energy_pj < raw.energy_pj
    # hand-derived: writes RESET 3 + 4 + 4, one exhaustion PreSET of 7 cells
    assert (wom.bit_flips, wom.energy_pj, wom.refreshes) == (18, 318, 1)
    assert [int(v) for v in wom.stored[:, 0]] == [int(v) for v in WRITES[:, 0]]
