# cython: language_level=3
"""Kernels of the workloads (private; use :mod:`workloads`).

:func:`synthetic_step` is one training iteration of the synthetic generator
(:mod:`workloads.synthetic`) in one pass over the parameters, instead of numpy's six. It reproduces
numpy's float32 results bit for bit: every operation is the numpy form's, in its order and in float32,
and the extension is compiled with ``-ffp-contract=off`` (no fused multiply-add, which would round once
where numpy rounds twice).
"""
from libc.stdint cimport int16_t


def synthetic_step(const int16_t[::1] noise, const float[::1] scale, float[::1] v, float[::1] w, float mu,
                   float lr):
    """One iteration of the generator, in place: per parameter ``i``::

        u = float32(noise[i]) * scale[i]
        v[i] = v[i] * mu + u             # two roundings: the product, then the sum
        w[i] = w[i] - v[i] * lr          # the same

    which is what ``u[:] = noise; u *= scale; v *= mu; v += u; np.multiply(v, lr, out=u); w -= u`` computes
    (:func:`workloads.synthetic.step_numpy`, the reference it is tested against).
    """
    cdef Py_ssize_t n = w.shape[0], i
    cdef float u, vi
    if noise.shape[0] < n or scale.shape[0] != n or v.shape[0] != n:
        raise ValueError("synthetic_step: shapes do not match")
    with nogil:
        for i in range(n):
            u = <float> noise[i]
            u = u * scale[i]
            vi = v[i] * mu
            vi = vi + u
            v[i] = vi
            u = vi * lr
            w[i] = w[i] - u
