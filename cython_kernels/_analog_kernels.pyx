# cython: language_level=3
"""Analog crossbar kernels (private; use :mod:`archsim.analog.array`).

The compiled path of :class:`archsim.analog.array.CrossbarArray`: the same numbers as its numpy
reference (``compiled=False``), bit for bit, in a few calls per layer instead of a few dozen.

- :class:`UpdateKernel`: one array's pulse update, one call (:meth:`UpdateKernel.update`):
  :meth:`UpdateKernel.prepare` turns the desired change into pulses (rounding rule, clip to
  +-P_max), the row-by-row programming time and the list of pulsed devices;
  :meth:`UpdateKernel.transform` runs the device model on them (or the caller's numpy model);
  :meth:`UpdateKernel.finish` adds the cycle-to-cycle noise, clips, writes the states back, counts
  pulses and energy, and keeps the readout operands (conductances, weights) and the layer's float32
  weights current.
- :func:`readout` (with :func:`dac` and :func:`adc_accumulate`): the forward readout around the
  crossbar's matrix product.

Bit-identity with the numpy reference rests on four rules. (1) Every elementwise operation is
written in the reference's order, in the reference's precision (float32 where it is float32), and
the extension is compiled with ``-ffp-contract=off`` (no fused multiply-add). (2) The transcendental
functions (``log1p``, ``expm1``, ``power``) are numpy's own ufuncs called on the kernel's buffers:
numpy's SIMD implementations differ from the C library's in the last bit, and they give the same
result for an element wherever it sits in an array (tests/analog/test_kernels.py checks it).
(3) Sums are numpy's: pairwise summation (:func:`pairwise_sum`, what ``np.sum`` does over a
contiguous axis) or a sequential sum over rows (what ``np.sum(axis=0)`` does); the matrix products
stay numpy (BLAS) calls. (4) The random numbers are the generator's, drawn in the reference's order:
``rng.random(m)`` of stochastic rounding, then ``rng.standard_normal(k)`` for the ``k`` pulsed
devices in their order (flat index; a differential pair's G+ devices before its G- devices).
"""
import numpy as np

from libc.math cimport floor, rint, sqrt, trunc, fabsf, rintf
from libc.string cimport memset

# rounding rules (Rounding.kernel_mode) and device models (DeviceModel.kernel)
ROUND_GIVEN = 0
ROUND_TRUNCATE = 1
ROUND_NEAREST = 2
ROUND_STOCHASTIC = 3
MODEL_GENERIC = 0
MODEL_NONLINEAR = 1
MODEL_CONSTANT_STEP = 2
MODEL_LINEAR_STEP = 3
MODEL_SOFT_BOUNDS = 4

cdef enum:
    R_GIVEN = 0
    R_TRUNCATE = 1
    R_NEAREST = 2
    R_STOCHASTIC = 3
    M_GENERIC = 0
    M_NONLINEAR = 1
    M_CONSTANT = 2
    M_LINEAR = 3
    M_SOFT = 4


# ---------------------------------------------------------------------------- numpy's summation
ctypedef fused real:
    float
    double


cdef real _pw(const real* a, Py_ssize_t n, Py_ssize_t s) noexcept nogil:
    """numpy's pairwise sum of ``n`` values ``s`` apart (float32 or float64), in numpy's order."""
    cdef Py_ssize_t i, n2
    cdef real r0, r1, r2, r3, r4, r5, r6, r7, res
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[i * s]
        return res
    elif n <= 128:
        r0 = a[0]; r1 = a[s]; r2 = a[2 * s]; r3 = a[3 * s]
        r4 = a[4 * s]; r5 = a[5 * s]; r6 = a[6 * s]; r7 = a[7 * s]
        i = 8
        while i < n - (n % 8):
            r0 += a[i * s]; r1 += a[(i + 1) * s]; r2 += a[(i + 2) * s]; r3 += a[(i + 3) * s]
            r4 += a[(i + 4) * s]; r5 += a[(i + 5) * s]; r6 += a[(i + 6) * s]; r7 += a[(i + 7) * s]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i * s]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pw(a, n2, s) + _pw(a + n2 * s, n - n2, s)


def pairwise_sum(a):
    """``np.sum`` of a 1-D float64 or float32 array, as numpy computes it (``0 + pairwise``)."""
    cdef const double[::1] d
    cdef const float[::1] f
    if a.dtype == np.float32:
        f = a
        return np.float32(<float>0.0 + _pw(&f[0], f.shape[0], 1) if f.shape[0] else 0.0)
    d = a
    return 0.0 + _pw(&d[0], d.shape[0], 1) if d.shape[0] else 0.0


# ---------------------------------------------------------------------------- update
cdef class UpdateKernel:
    """The compiled update of one :class:`~archsim.analog.array.CrossbarArray` (see the module doc).

    Holds views of the array's state (``g``, pulse counts), its readout operands (``gp``, ``gm``,
    ``u32``, ``row_g``) and the layer's float32 weights ``w`` (all updated in place), plus work
    buffers for the pulsed devices. Results of the last update: ``ltp``, ``ltd`` (pulses),
    ``energy_sum`` (sum over pulses of ``|n| V^2 t G``, V, ns, S), ``program_time_ns``.
    """

    cdef int n_dev, n_out, n_in, P, rounding, model, rows, cols, row_tiles, col_tiles
    cdef bint differential, per_device
    cdef double scale, levels_d, gmin, span, bound, sigma, c_g, c_half, e_ltp, e_ltd, t_ltp, t_ltd, ref_const
    cdef double p_up, p_down, l_up, l_down, s_step
    cdef double[::1] g, ns, before, t1, rowmax, row_g
    cdef const double[::1] a_ltp, a_ltd, d_ltp, d_ltd
    cdef long long[::1] pulses, idx
    cdef unsigned char[::1] touched
    cdef float[::1] gp, gm, u32, w
    cdef object t1_arr, absn_arr, ns_arr, before_arr
    cdef public long long ltp, ltd
    cdef public double energy_sum, program_time_ns
    cdef readonly Py_ssize_t k

    def __init__(self, *, g, pulses, a_ltp, a_ltd, d_ltp, d_ltd, gp, gm, u32, row_g, w, int levels,
                 int rounding, int model, tuple model_params, bint differential, double scale, double gmin,
                 double bound, double sigma, double c_g, double c_half, double e_ltp, double e_ltd,
                 double t_ltp, double t_ltd, double ref_const, int rows, int cols):
        self.n_dev, self.n_out, self.n_in = g.shape
        cdef Py_ssize_t total = g.size
        self.g = g.reshape(-1)
        self.pulses = pulses.reshape(-1)
        self.per_device = np.ndim(a_ltp) > 0
        self.a_ltp = np.ascontiguousarray(a_ltp, np.float64).reshape(-1)
        self.a_ltd = np.ascontiguousarray(a_ltd, np.float64).reshape(-1)
        self.d_ltp = np.ascontiguousarray(d_ltp, np.float64).reshape(-1)
        self.d_ltd = np.ascontiguousarray(d_ltd, np.float64).reshape(-1)
        if self.per_device and self.a_ltp.shape[0] != total:
            raise ValueError("per-device shapes must cover every device")
        self.gp = gp.reshape(-1)
        self.gm = gm.reshape(-1)
        self.u32 = u32.reshape(-1)
        self.row_g = row_g
        self.w = w.reshape(-1)
        self.P, self.levels_d = levels, <double>levels
        self.rounding, self.model = rounding, model
        self.differential = differential
        self.scale, self.gmin, self.span, self.bound, self.sigma = scale, gmin, 1.0 - gmin, bound, sigma
        self.c_g, self.c_half, self.e_ltp, self.e_ltd = c_g, c_half, e_ltp, e_ltd
        self.t_ltp, self.t_ltd, self.ref_const = t_ltp, t_ltd, ref_const
        self.rows, self.cols = rows, cols
        self.row_tiles = (self.n_in + rows - 1) // rows      # (C division: no -(-a // b))
        self.col_tiles = (self.n_out + cols - 1) // cols
        self.p_up = self.p_down = self.l_up = self.l_down = 0.0
        self.s_step = 1.0 / levels
        if model == M_CONSTANT:
            self.p_up = 1.0 + model_params[0]           # the reference's 1.0 + up_down, 1.0 - up_down
            self.p_down = 1.0 - model_params[0]
        elif model == M_LINEAR:
            self.p_up, self.p_down = model_params[0], model_params[1]
            # log1p(-s gamma) as the reference computes it (numpy's log1p on a Python float)
            self.l_up = float(np.log1p(-self.s_step * self.p_up))
            self.l_down = float(np.log1p(-self.s_step * self.p_down))
        elif model == M_SOFT:
            self.p_up = 1.0 - 1.0 / levels
        self.t1_arr = np.empty(total)
        self.absn_arr = np.empty(total)
        self.ns_arr = np.empty(total)
        self.before_arr = np.empty(total)
        self.t1, self.ns, self.before = self.t1_arr, self.ns_arr, self.before_arr
        self.idx = np.empty(total, np.int64)
        self.touched = np.zeros(self.n_in, np.uint8)
        self.rowmax = np.empty(2 * self.col_tiles * self.n_in)
        self.k = 0

    # -------------------------------------------------------------- the whole update
    def update(self, dw, rng, apply=None, bint given=False):
        """One update of the array (what ``CrossbarArray.update`` does): :meth:`prepare` (the rule's
        draws ``rng.random(m)`` first, for stochastic rounding), :meth:`transform` (or
        ``apply(idx, ns, before) -> after``, a model without a compiled form), the noise
        ``rng.standard_normal(k)``, :meth:`finish`. ``dw``: flat float32 changes, or with ``given``
        the flat float64 pulses of the rule (rounded in numpy). Returns the number of pulsed
        devices."""
        cdef Py_ssize_t K
        if given:
            K = self.prepare(None, None, dw)
        elif self.rounding == R_STOCHASTIC:
            K = self.prepare(dw, rng.random(dw.shape[0]))
        else:
            K = self.prepare(dw)
        if K == 0:
            return 0
        after = None
        if self.model == M_GENERIC:
            after = np.ascontiguousarray(apply(*self.pulsed()), np.float64)
        else:
            self.transform()
        self.finish(rng.standard_normal(K) if self.sigma > 0 else None, after)
        return K

    # -------------------------------------------------------------- prepare
    def prepare(self, const float[::1] dw, uniform=None, given=None):
        """Pulses of the desired change ``dw`` (flat, float32): rounding (``uniform``: the draws
        of stochastic rounding; ``given``: pulses already rounded by a rule without a compiled
        form), clip to +-P_max, programming time, counts, the pulsed devices. Returns their number
        (both devices of a differential pair counted)."""
        cdef Py_ssize_t m = <Py_ssize_t>self.n_out * self.n_in, j, i, q, k1 = 0, kk, K, ct, rt, c0
        cdef double x, a, s_up, s_dn, tot, best
        cdef double P = self.P
        cdef const double[::1] u
        cdef const double[::1] gv
        cdef int mode = R_GIVEN if given is not None else self.rounding
        if mode == R_GIVEN and given is None:
            raise ValueError("a rule without a compiled form: pass its pulses as given")
        cdef double[::1] rm = self.rowmax
        cdef Py_ssize_t n_in = self.n_in, half = <Py_ssize_t>self.col_tiles * self.n_in
        if mode == R_GIVEN:
            gv = given
            if gv.shape[0] != m:
                raise ValueError("given has not one value per weight")
        else:
            if dw is None or dw.shape[0] != m:
                raise ValueError("dw has not one value per weight")
            if mode == R_STOCHASTIC:
                u = uniform
                if u.shape[0] != m:
                    raise ValueError("uniform has not one value per weight")
        memset(&rm[0], 0, 2 * half * sizeof(double))
        cdef double* rmu = &rm[0]
        cdef double* rmd = rmu + half
        cdef double* nsp = &self.ns[0]
        cdef long long* ip = &self.idx[0]
        cdef const float* dwp = NULL
        cdef const double* up = NULL
        cdef const double* gp = NULL
        cdef double scale = self.scale, skip
        cdef bint diff = self.differential
        # |dw| below skip: the rounded pulse count is 0 for sure (no division needed); the margin
        # of 1e-9 dwarfs the division's rounding, so the skipped entries are exactly the zeros
        if mode == R_TRUNCATE:
            skip = scale * (1.0 - 1e-9)
        elif mode == R_NEAREST:
            skip = 0.5 * scale * (1.0 - 1e-9)
        else:
            skip = -1.0
        if mode == R_GIVEN:
            gp = &gv[0]
        else:
            dwp = &dw[0]
            if mode == R_STOCHASTIC:
                up = &u[0]
        cdef Py_ssize_t q0 = 0, qe, t
        cdef float mx, af
        cdef bint nan
        while q0 < m:
            qe = q0 + 16 if q0 + 16 <= m else m
            if skip > 0 and qe - q0 == 16:      # a whole block below the threshold: nothing to do
                mx = 0.0
                nan = False
                for t in range(16):
                    af = fabsf(dwp[q0 + t])
                    mx = af if af > mx else mx
                    nan = nan | (af != af)
                if <double>mx < skip and not nan:
                    q0 = qe
                    continue
            for q in range(q0, qe):
                if mode == R_GIVEN:
                    x = gp[q]
                else:
                    x = <double>dwp[q]
                    if (x if x >= 0 else -x) < skip:
                        continue
                    x = x / scale
                    if mode == R_TRUNCATE:
                        x = trunc(x)
                    elif mode == R_NEAREST:
                        x = rint(x)
                    else:
                        x = floor(x + up[q])
                if x < -P:
                    x = -P
                elif x > P:
                    x = P
                if x != 0.0:
                    ip[k1] = q
                    nsp[k1] = x
                    k1 += 1
                    j = q // n_in
                    i = q - j * n_in
                    c0 = (j // self.cols) * n_in
                    if diff:
                        a = x if x > 0 else -x
                        if a > rmu[c0 + i]:
                            rmu[c0 + i] = a
                        if a > rmd[c0 + i]:
                            rmd[c0 + i] = a
                    elif x > 0:
                        if x > rmu[c0 + i]:
                            rmu[c0 + i] = x
                    elif -x > rmd[c0 + i]:
                        rmd[c0 + i] = -x
            q0 = qe
        K = k1
        if self.differential:
            for kk in range(k1):
                self.idx[k1 + kk] = self.idx[kk] + m
                self.ns[k1 + kk] = -self.ns[kk]
            K = 2 * k1
        self.k = K
        self.ltp = self.ltd = 0
        self.program_time_ns = 0.0
        if K == 0:
            return 0
        # rows one at a time per subarray, LTP then LTD pulses; subarrays in parallel
        best = 0.0
        for ct in range(self.col_tiles):
            for rt in range(self.row_tiles):
                s_up = 0.0
                s_dn = 0.0
                c0 = ct * n_in
                for i in range(rt * self.rows, min((rt + 1) * self.rows, n_in)):
                    s_up += rm[c0 + i]
                    s_dn += rm[half + c0 + i]
                tot = s_up * self.t_ltp + s_dn * self.t_ltd
                if tot > best:
                    best = tot
        self.program_time_ns = best
        cdef double[::1] absn = self.absn_arr
        for kk in range(K):
            x = self.ns[kk]
            self.before[kk] = self.g[self.idx[kk]]
            if x > 0:
                self.ltp += <long long>x
                absn[kk] = x
            else:
                self.ltd += <long long>(-x)
                absn[kk] = -x
        return K

    # -------------------------------------------------------------- the device model
    def transform(self):
        """The device model on the pulsed devices (built-in models; numpy's ufuncs for their
        transcendental functions)."""
        cdef Py_ssize_t K = self.k
        if K == 0:
            return
        t1 = self.t1_arr[:K]
        if self.model == M_NONLINEAR:
            self._nl_pre(K)
            with np.errstate(divide="ignore"):   # -h d == -1 (saturated): -inf, clipped to 1 in _nl_mid
                np.log1p(t1, out=t1)
            self._nl_mid(K)
            np.expm1(t1, out=t1)
        elif self.model == M_LINEAR:
            self._ls_pre(K)
            np.expm1(t1, out=t1)
        elif self.model == M_SOFT:
            np.power(self.p_up, self.absn_arr[:K], out=t1)
        elif self.model != M_CONSTANT:
            raise ValueError("transform: this model has no compiled form (use the generic path)")

    cdef inline double _a(self, Py_ssize_t kk, bint up) noexcept nogil:
        cdef Py_ssize_t q = self.idx[kk] if self.per_device else 0
        return self.a_ltp[q] if up else self.a_ltd[q]

    cdef inline double _d(self, Py_ssize_t kk, bint up) noexcept nogil:
        cdef Py_ssize_t q = self.idx[kk] if self.per_device else 0
        return self.d_ltp[q] if up else self.d_ltd[q]

    cdef void _nl_pre(self, Py_ssize_t K) noexcept nogil:
        # h = g (LTP) or 1 - g (LTD, mirrored); t1 = -h d, for log1p
        cdef Py_ssize_t kk
        cdef double h
        cdef bint up
        for kk in range(K):
            up = self.ns[kk] > 0
            h = self.before[kk] if up else 1.0 - self.before[kk]
            self.t1[kk] = (-h) * self._d(kk, up)

    cdef void _nl_mid(self, Py_ssize_t K) noexcept nogil:
        # y = -a log1p(-h d) + |n| / P; y = min(y, 1); t1 = -y / a, for expm1
        cdef Py_ssize_t kk
        cdef double a, y, n
        cdef bint up
        for kk in range(K):
            n = self.ns[kk]
            up = n > 0
            a = self._a(kk, up)
            y = (-a) * self.t1[kk]
            y = y + (n if up else -n) / self.levels_d
            if y > 1.0:
                y = 1.0
            self.t1[kk] = (-y) / a

    cdef void _ls_pre(self, Py_ssize_t K) noexcept nogil:
        # t1 = k log1p(-s gamma) of the pulse's direction, for expm1 (0 where gamma is linear)
        cdef Py_ssize_t kk
        cdef double n, k
        for kk in range(K):
            n = self.ns[kk]
            k = n if n > 0 else -n
            if n > 0:
                self.t1[kk] = 0.0 if self.p_up < 1e-12 else k * self.l_up
            else:
                self.t1[kk] = 0.0 if self.p_down < 1e-12 else k * self.l_down

    # -------------------------------------------------------------- finish
    def finish(self, noise=None, after=None):
        """New states (``after``: the generic model's result on the pulsed devices, in order), plus
        ``noise`` (standard normal draws, one per pulsed device) x sigma sqrt(|n|), clipped to
        [0, 1]; written back with the pulse counts, energy and readout operands."""
        cdef Py_ssize_t K = self.k, kk, q, j, i, r, m = <Py_ssize_t>self.n_out * self.n_in
        cdef Py_ssize_t k1 = K // 2 if self.differential else K
        cdef const double[::1] z
        cdef const double[::1] ext
        cdef double[::1] absn = self.absn_arr
        cdef double n, new, h, b, gamma, a
        cdef bint up, has_noise = noise is not None, generic = self.model == M_GENERIC
        cdef double g0, u
        if K == 0:
            self.energy_sum = 0.0
            return
        if has_noise:
            z = noise
        if generic:
            ext = after
        for kk in range(K):
            n = self.ns[kk]
            up = n > 0
            b = self.before[kk]
            if generic:
                new = ext[kk]
            elif self.model == M_NONLINEAR:
                h = (-self.t1[kk]) / self._d(kk, up)
                new = h if up else 1.0 - h
            elif self.model == M_CONSTANT:
                new = b + n * ((self.p_up if up else self.p_down) / self.levels_d)
            elif self.model == M_LINEAR:
                h = b if up else 1.0 - b
                gamma = self.p_up if up else self.p_down
                if gamma < 1e-12:
                    h = h + absn[kk] * self.s_step
                else:
                    h = h + (1.0 - gamma * h) * ((-self.t1[kk]) / gamma)
                new = h if up else 1.0 - h
            else:   # soft bounds
                new = 1.0 - (1.0 - b) * self.t1[kk] if up else b * self.t1[kk]
            if has_noise:
                new = new + z[kk] * (self.sigma * sqrt(absn[kk]))
            if new < 0.0:
                new = 0.0
            elif new > 1.0:
                new = 1.0
            q = self.idx[kk]
            self.g[q] = new
            self.pulses[q] += <long long>absn[kk]
            # V^2 G t per pulse, G the mean of before and after
            self.t1[kk] = (absn[kk] * (self.e_ltp if up else self.e_ltd)) * \
                (self.c_g * (self.gmin + self.c_half * (b + new)))
        self.energy_sum = 0.0 + _pw(&self.t1[0], K, 1)
        # readout operands of the changed weights
        for kk in range(k1):
            j = self.idx[kk]
            g0 = self.g[j]
            self.gp[j] = <float>(self.gmin + g0 * self.span)
            if self.differential:
                self.gm[j] = <float>(self.gmin + self.g[j + m] * self.span)
                u = g0 - self.g[j + m]
            else:
                u = 2.0 * g0 - 1.0
            self.u32[j] = <float>u
            self.w[j] = <float>(self.bound * u)
        # relative conductance per row, the reference column included: numpy sums over the columns
        # sequentially, row after row, except with a single row, where the columns are one
        # contiguous run and it sums them pairwise
        if self.n_in == 1:
            for r in range(<Py_ssize_t>self.n_dev * self.n_out):
                self.t1[r] = self.gmin + self.g[r] * self.span
            self.row_g[0] = (0.0 + _pw(&self.t1[0], <Py_ssize_t>self.n_dev * self.n_out, 1)) + self.ref_const
            return
        # only the rows with a changed device, each summed in full in numpy's order
        cdef unsigned char* touched = &self.touched[0]
        cdef Py_ssize_t R = <Py_ssize_t>self.n_dev * self.n_out, n_in = self.n_in
        cdef double acc
        memset(touched, 0, n_in)
        for kk in range(k1):
            touched[self.idx[kk] % n_in] = 1
        for i in range(n_in):
            if touched[i]:
                acc = self.gmin + self.g[i] * self.span
                for r in range(1, R):
                    acc += self.gmin + self.g[r * n_in + i] * self.span
                self.row_g[i] = acc + self.ref_const

    def pulsed(self):
        """Views of the pulsed devices of the last :meth:`prepare`: flat indices, signed pulses,
        states before the update (for the generic path)."""
        return (np.asarray(self.idx)[:self.k], self.ns_arr[:self.k], self.before_arr[:self.k])


# ---------------------------------------------------------------------------- readout
def dac(const float[:, ::1] x, int dac_bits):
    """The input DAC: ``x / max|x|`` quantised to ``dac_bits`` (0: exact), split into read phases
    (one, or the positive and negative parts), and the per-row sum of the phases' squared inputs
    (float64). Returns ``(xmax, v, phases, v2)``; ``xmax == 0``: ``(0.0, None, None, None)``."""
    cdef Py_ssize_t B = x.shape[0], N = x.shape[1], b, i
    cdef float xmax = 0.0, a, vmin = 0.0, top, v
    cdef bint first = True
    for b in range(B):
        for i in range(N):
            a = fabsf(x[b, i])
            if a > xmax:
                xmax = a
    if xmax == 0.0:
        return 0.0, None, None, None
    out = np.empty((B, N), np.float32)
    cdef float[:, ::1] vv = out
    top = <float>((1 << dac_bits) - 1) if dac_bits else 0.0
    for b in range(B):
        for i in range(N):
            v = x[b, i] / xmax
            if dac_bits:
                v = rintf(v * top) / top
            vv[b, i] = v
            if first or v < vmin:
                vmin = v
                first = False
    v2_arr = np.zeros(N)
    cdef double[::1] v2 = v2_arr
    cdef double d
    if N == 1 and B > 1:       # numpy's column sum of a single column: one contiguous run, pairwise
        return _dac_single_column(out, vmin, xmax)
    if vmin >= 0:
        for b in range(B):
            for i in range(N):
                d = vv[b, i]
                v2[i] += d * d
        return <double>xmax, out, [out], v2_arr
    pos = np.empty((B, N), np.float32)
    neg = np.empty((B, N), np.float32)
    cdef float[:, ::1] pp = pos
    cdef float[:, ::1] nn = neg
    s_neg = np.zeros(N)
    cdef double[::1] v2n = s_neg
    for b in range(B):
        for i in range(N):
            v = vv[b, i]
            pp[b, i] = v if v > 0 else 0.0
            nn[b, i] = -v if -v > 0 else 0.0
            d = pp[b, i]
            v2[i] += d * d
            d = nn[b, i]
            v2n[i] += d * d
    for i in range(N):
        v2[i] = v2[i] + v2n[i]
    return <double>xmax, out, [pos, neg], v2_arr


cdef tuple _dac_single_column(out, float vmin, float xmax):
    cdef float[:, ::1] vv = out
    cdef Py_ssize_t B = vv.shape[0], b
    sq = np.empty(B)
    cdef double[::1] s = sq
    cdef double d, total
    if vmin >= 0:
        for b in range(B):
            d = vv[b, 0]
            s[b] = d * d
        return <double>xmax, out, [out], np.array([0.0 + _pw(&s[0], B, 1)])
    pos = np.maximum(out, np.float32(0))
    neg = np.maximum(-out, np.float32(0))
    cdef float[:, ::1] pp = pos
    cdef float[:, ::1] nn = neg
    for b in range(B):
        d = pp[b, 0]
        s[b] = d * d
    total = 0.0 + _pw(&s[0], B, 1)
    for b in range(B):
        d = nn[b, 0]
        s[b] = d * d
    total = total + (0.0 + _pw(&s[0], B, 1))
    return <double>xmax, out, [pos, neg], np.array([total])


def adc_accumulate(float[:, ::1] cur, const float[:, :] vt, ref, float gref, int adc_bits, bint calibrated,
                   double sign_gain, float span, float[:, ::1] out):
    """One subarray row tile's columns through the ADC, added to ``out``: ``cur`` (batch, n_out),
    the columns' currents (overwritten); the reference column's current is ``ref`` (batch, n_out:
    the G- columns) or, with ``ref=None``, ``sum(vt) * gref`` (the mid-conductance column)."""
    cdef Py_ssize_t B = cur.shape[0], J = cur.shape[1], b, j
    cdef const float[:, ::1] rm
    cdef bint has_ref = ref is not None
    cdef float lv = <float>((1 << adc_bits) - 1), fs, inv_q, gain, c, r
    cdef double mx
    rs_arr = np.empty(B, np.float32)
    cdef float[::1] rs = rs_arr
    if has_ref:
        rm = ref
    else:
        for b in range(B):
            rs[b] = ((<float>0.0) + _pw(&vt[b, 0], vt.shape[1], vt.strides[1] // sizeof(float))) * gref
    if calibrated:
        mx = -1e300
        for b in range(B):
            for j in range(J):
                if cur[b, j] > mx:
                    mx = cur[b, j]
                if has_ref and rm[b, j] > mx:
                    mx = rm[b, j]
            if not has_ref and rs[b] > mx:
                mx = rs[b]
        if mx < 1e-30:
            mx = 1e-30
        fs = <float>mx
    else:
        fs = <float>vt.shape[1]
    inv_q = lv / fs
    gain = (<float>sign_gain) / (inv_q * span)
    for b in range(B):
        for j in range(J):
            c = rintf(cur[b, j] * inv_q)
            if c > lv:
                c = lv
            r = rintf((rm[b, j] if has_ref else rs[b]) * inv_q)
            if r > lv:
                r = lv
            c = c - r
            c = c * gain
            out[b, j] += c


def readout(x, gp, gm, u32, float gref, float span, int dac_bits, int adc_bits, bint calibrated, double bound,
            int rows):
    """The whole forward readout of one array (the compiled ``CrossbarArray.mac``): :func:`dac`, per
    read phase and subarray row tile the crossbar's product (numpy, BLAS) and
    :func:`adc_accumulate`, the final scale. ``gm``: the G- conductances (differential) or None;
    ``u32``: the weights in [-1, 1] (the ideal readout, ``adc_bits = 0``). Returns
    ``(out, phases, v2)``, ``phases`` = 0 for an all-zero input (``out`` zeros, nothing read)."""
    cdef Py_ssize_t B = x.shape[0], n_in = x.shape[1], t0
    cdef double xmax
    xmax, v, phases, v2 = dac(x, dac_bits)
    if phases is None:
        return np.zeros((B, gp.shape[0]), np.float32), 0, None
    cdef float[:, ::1] o
    if not adc_bits:
        out = np.matmul(v, u32.T)
    else:
        out = np.zeros((B, gp.shape[0]), np.float32)
        gain = 1.0 if gm is not None else 2.0
        sign = 1.0
        for ph in phases:
            if rows >= n_in:
                adc_accumulate(np.matmul(ph, gp.T), ph, np.matmul(ph, gm.T) if gm is not None else None,
                               gref, adc_bits, calibrated, sign * gain, span, out)
            else:
                for t0 in range(0, n_in, rows):
                    sl = slice(t0, min(t0 + rows, n_in))
                    vt = ph[:, sl]
                    adc_accumulate(np.matmul(vt, gp[:, sl].T), vt,
                                   np.matmul(vt, gm[:, sl].T) if gm is not None else None,
                                   gref, adc_bits, calibrated, sign * gain, span, out)
            sign = -1.0
    cdef float f = <float>(xmax * bound)
    o = out
    cdef Py_ssize_t b, j
    for b in range(o.shape[0]):
        for j in range(o.shape[1]):
            o[b, j] = o[b, j] * f
    return out, len(phases), v2
