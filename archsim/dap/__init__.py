"""Data-aware lossy programming (DAP, the ``000`` seed): the lossy-SET cell model, the
layer-aware and bit-aware Dual-SET policies, and the ``dap`` / ``ps`` PCM schemes.

The schemes register in :data:`archsim.encoding.PCM_SCHEMES` when :mod:`archsim.encoding`
is imported (its last line imports :mod:`archsim.dap.schemes`). This package's own import
is light (config and decay model only) so that :mod:`archsim.config` can import
:class:`DapConfig`. See ``docs/dap.md``.
"""
from archsim.dap.config import DECAY_LAWS, DapConfig
from archsim.dap.decay import DecayModel, uniforms
from archsim.dap.policy import ALL_BITS, dual_set_mask, layer_aware_mask, tensor_mask

__all__ = ["DapConfig", "DECAY_LAWS", "DecayModel", "uniforms", "ALL_BITS", "dual_set_mask",
           "layer_aware_mask", "tensor_mask"]
