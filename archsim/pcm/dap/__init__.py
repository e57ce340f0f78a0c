"""Data-aware lossy programming (DAP, the ``000`` seed): the lossy-SET cell model, the
layer-aware and bit-aware Dual-SET policies, and the ``dap`` / ``ps`` PCM schemes
(:mod:`archsim.pcm.dap.schemes`, registered in :data:`archsim.pcm.PCM_SCHEMES` when
:mod:`archsim.pcm` is imported). See ``docs/dap.md``.
"""
from archsim.pcm.dap.config import DECAY_LAWS, DapConfig
from archsim.pcm.dap.decay import DecayModel, uniforms
from archsim.pcm.dap.policy import ALL_BITS, dual_set_mask, layer_aware_mask, tensor_mask

__all__ = ["DapConfig", "DECAY_LAWS", "DecayModel", "uniforms", "ALL_BITS", "dual_set_mask",
           "layer_aware_mask", "tensor_mask"]
