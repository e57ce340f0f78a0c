"""The code in docs/encoders.md works as written (loaded as a plugin file)."""
import re
from pathlib import Path

import numpy as np

from archsim.pcm import PCM_SCHEMES, replay
from archsim.registry import load_plugin

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_encoder_plugin_example(tmp_path):
    text = (DOCS / "encoders.md").read_text()
    code = re.search(r"```python\n(# my_schemes.py\n.*?)```", text, re.S).group(1)
    plugin = tmp_path / "my_schemes.py"
    plugin.write_text(code)
    load_plugin(str(plugin))
    try:
        r = replay("dcw-skip-low", np.array([[0xFF], [0x0F], [0xF0]], np.uint32), mask_bits=4)
        assert [int(v) for v in r.stored[:, 0]] == [0xF0, 0x00, 0xF0]
        assert r.bit_flips == 12
    finally:
        PCM_SCHEMES._items.pop("dcw-skip-low", None)
