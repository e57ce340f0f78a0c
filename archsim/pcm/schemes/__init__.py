"""The built-in PCM write schemes (``pcm.md``), each a registered :class:`Encoder`.

=============  ======================================================  ===========
name           what a write does                                       cells/word
=============  ======================================================  ===========
``preset``     RESET the 0 bits of the data, then PreSET the line        w
``prereset``   SET the 1 bits of the data, then PreRESET the line        w
``dcw``        SET 0->1 bits, RESET 1->0 bits (data-comparison write)    w
``fnw``        Flip-N-Write: data or its inverse, plus a flag cell       w + w/N
``wom-set``    Rivest-Shamir WOM code on PreSET cells, PreSET when full  3w/2
``appwom``     approximate WOM code with the wear-aware ping-pong        3w/2
=============  ======================================================  ===========

The per-line work is in the Cython kernels of :mod:`archsim._pcm_kernels`;
:mod:`archsim.pcm.reference` holds plain numpy versions of the same
schemes, used by the tests.
"""
from archsim.pcm.schemes import fnw, raw, wom  # noqa: F401  (register the built-ins)
from archsim.pcm.schemes.fnw import FlipNWrite, FnwState
from archsim.pcm.schemes.raw import Dcw, Prereset, Preset, RawState
from archsim.pcm.schemes.wom import AppWom, WomSet, WomState

__all__ = ["Preset", "Prereset", "Dcw", "FlipNWrite", "WomSet", "AppWom", "RawState", "FnwState", "WomState"]
