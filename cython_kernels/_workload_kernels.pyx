# cython: language_level=3
"""Kernels of the workloads (private; use :mod:`workloads`).

:func:`synthetic_step` is one training iteration of the synthetic generator
(:mod:`workloads.synthetic`) in one pass over the parameters, instead of numpy's six. It reproduces
numpy's float32 results bit for bit: every operation is the numpy form's, in its order and in float32,
and the extension is compiled with ``-ffp-contract=off`` (no fused multiply-add, which would round once
where numpy rounds twice).

:func:`generator_bytes` fills a buffer with a bit generator's 64-bit outputs, through numpy's C interface
to bit generators (``numpy.random.bitgen_t``): the words the timing model writes as intermediate data
(:func:`archsim.timing.intermediate.random_words`).
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int16_t, uint8_t, uint64_t
from libc.string cimport memcpy
from numpy.random cimport bitgen_t


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


def generator_bytes(object bit_generator, uint8_t[::1] out):
    """Fill ``out`` with ``bit_generator``'s next 64-bit outputs (``next_uint64``), each as its 8 bytes in
    this machine's byte order, the last one cut to the bytes that fit; ceil(len / 8) outputs are drawn.

    On a little-endian machine these are the bytes of ``Generator(PCG64).integers(0, 2**k - 1,
    endpoint=True, dtype=uint<k>)`` drawn from the same fresh generator, for k = 8, 16, 32 and 64: numpy
    serves those dtypes from a PCG64 output's low bits first, then its high bits (tested against numpy in
    ``tests/timing/test_intermediate.py``). Holds the generator's lock; runs without the GIL.
    """
    cdef bitgen_t* rng = <bitgen_t*> PyCapsule_GetPointer(bit_generator.capsule, "BitGenerator")
    cdef Py_ssize_t n = out.shape[0], full = n // 8, i
    cdef uint64_t v
    with bit_generator.lock:
        with nogil:
            for i in range(full):
                v = rng.next_uint64(rng.state)
                memcpy(&out[8 * i], &v, 8)
            if n > 8 * full:
                v = rng.next_uint64(rng.state)
                memcpy(&out[8 * full], &v, n - 8 * full)
