"""The code in the docs (docs/encoders.md, docs/tutorial-policy.md) is the tested plugin files' code."""
import re
from pathlib import Path


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_encoder_plugin_example_is_the_plugin_file():
    """The example of docs/encoders.md is docs/examples/pcm_scheme_plugin.py, so it cannot drift."""
    text = (DOCS / "encoders.md").read_text()
    code = re.search(r"```python\n(# my_schemes.py\n.*?)```", text, re.S).group(1)
    plugin = (DOCS / "examples" / "pcm_scheme_plugin.py").read_text()
    assert plugin.endswith(code.replace("# my_schemes.py\n", "", 1))  # tested in tests/pcm/test_encoding_api.py


def test_tutorial_policy_is_the_example_plugins():
    """The write-batch policy of docs/tutorial-policy.md (section 5) is the one of docs/examples/timing_plugin.py,
    which tests/cli/test_plugins.py runs through the CLI."""
    text = (DOCS / "tutorial-policy.md").read_text()
    code = re.search(r"```python\n# my_policies.py\n(.*?)```", text, re.S).group(1)
    classes = code[code.index("@dataclass(frozen=True)\nclass WriteBatchParams"):]
    assert classes in (DOCS / "examples" / "timing_plugin.py").read_text()
