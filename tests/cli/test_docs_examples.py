"""The code in docs/encoders.md is the tested plugin file."""
import re
from pathlib import Path


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_encoder_plugin_example_is_the_plugin_file():
    """The example of docs/encoders.md is docs/examples/pcm_scheme_plugin.py, so it cannot drift."""
    text = (DOCS / "encoders.md").read_text()
    code = re.search(r"```python\n(# my_schemes.py\n.*?)```", text, re.S).group(1)
    plugin = (DOCS / "examples" / "pcm_scheme_plugin.py").read_text()
    assert plugin.endswith(code.replace("# my_schemes.py\n", "", 1))  # tested in tests/pcm/test_encoding_api.py
