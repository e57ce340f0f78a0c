"""One layer's weights on crossbar subarrays: mapping, readout through DAC and ADC, pulse updates, costs.

Weights ``W`` (n_out, n_in) of a layer (a convolution's kernel flattened to (c_out, c_in k k)) sit on
the crossbar transposed: input ``i`` drives row ``i``, output ``j`` is read on column ``j``. The
matrix is tiled onto subarrays of ``rows x cols`` cells. A weight in the layer's range [-b, b] is
``w = b * u`` with ``u`` in [-1, 1]:

- ``reference`` mapping: one device per weight, ``u = 2 g - 1``, read against a reference column at
  mid-conductance (NeuroSim's MLP);
- ``differential``: a pair, ``u = g+ - g-``; a change of ``n`` pulses is ``+n`` on G+ and ``-n`` on G-.

``g`` is the normalised conductance of :mod:`archsim.analog.device`. One pulse moves ``u`` by
``2 / P_max`` on a linear device in both mappings, so ``dW_step = 2 b / P_max``.

**Forward readout** (:meth:`CrossbarArray.mac`). Inputs pass a DAC (``dac_bits``, range: the batch's
largest input magnitude); a negative input is a second read phase. Each subarray column's current
``I = sum_i G_i V_i`` (in units of Gmax V_read, conductances ``G/Gmax = 1/on_off + g (1 - 1/on_off)``)
is quantised by an ADC of ``adc_bits`` over [0, full scale] (``full-scale``: the column's current
with every cell at Gmax and every input at full scale, i.e. the subarray's rows; ``calibrated``: the
largest current of the layer in this batch), and so is the reference column (or the G- column);
their difference, scaled back to weight units, is the partial sum; subarray partial sums are added
digitally. ``adc_bits = 0``: the exact analog sum.

**Update** (:meth:`CrossbarArray.update`): ``n = rounding(dW / dW_step)``, clipped to +-P_max, applied
by the device model with cycle-to-cycle noise; the array counts LTP and LTD pulses, pulses per device,
programming energy (``V^2 G t`` per pulse, G the mean of the device's conductance before and after) and
programming time (a subarray programs one row at a time, the LTP then the LTD pulses of all the row's
cells in parallel; subarrays in parallel).

**Compiled path.** By default (``compiled=True``) the readout and the update run through
:mod:`archsim._analog_kernels` (Cython): the rounding, the clip, the pulsed devices' gather, the
device model's arithmetic, the noise, the scatter, the counters and the readout operands in a few
calls per layer instead of a few dozen numpy calls. It computes the same numbers as the numpy code
of this module (``compiled=False``, the reference), bit for bit: the same operations in the same
order and precision, numpy's own ufuncs for the transcendental functions and numpy's summation
order; the same random draws in the same order (tests/analog/test_kernels.py). A device model or
rounding rule without a compiled form (a user's) runs its numpy code on the pulsed devices inside
the same path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim import _analog_kernels as K
from archsim.analog.config import AnalogConfig, DeviceSpec
from archsim.analog.device import DeviceArrays, DeviceModel, _flat_pick, label_to_a, pulse_devices
from archsim.analog.optim import Rounding
from archsim.errors import ArchsimError


@dataclass
class ArrayCounters:
    """Everything one array did (the costs of the run)."""

    ltp_pulses: int = 0
    ltd_pulses: int = 0
    updates: int = 0
    programming_energy_pj: float = 0.0
    programming_time_ns: float = 0.0
    adc_conversions: int = 0
    macs: int = 0
    read_energy_pj: float = 0.0


class CrossbarArray:
    """The devices holding one weight tensor (``shape`` = (n_out, n_in)), with their counters.
    ``compiled``: the Cython kernels (default) or the numpy reference (same numbers).
    ``weights_out``: a float32 array of the tensor's shape (C-contiguous) kept equal to the weights
    the devices hold, from construction and after every update (a layer's own weight array; it may
    be ``w0`` itself)."""

    def __init__(self, name: str, w0: np.ndarray, cfg: AnalogConfig, device: DeviceSpec, model: DeviceModel,
                 rounding: Rounding, rng: np.random.Generator, *, compiled: bool = True,
                 weights_out: np.ndarray | None = None) -> None:
        self.name = name
        self.compiled = compiled
        if weights_out is not None and (weights_out.shape != w0.shape or weights_out.dtype != np.float32
                                        or not weights_out.flags.c_contiguous):
            raise ValueError(f"{name}: weights_out must be C-contiguous float32 of shape {w0.shape}")
        self.weights_out = weights_out
        self.shape = w0.shape
        self.n_out = w0.shape[0]
        self.n_in = int(np.prod(w0.shape[1:]))
        self.cfg, self.device, self.model, self.rounding, self.rng = cfg, device, model, rounding, rng
        self.bound = float(cfg.weight_bound_std * np.sqrt(2.0 / self.n_in))
        self.P = int(device.levels)
        self.step_u = 2.0 / self.P
        self.differential = cfg.mapping == "differential"
        n_dev = 2 if self.differential else 1
        shape2 = (n_dev, self.n_out, self.n_in)
        if cfg.sigma_d2d > 0:       # device-to-device: each device's labels drawn once
            lab_p = np.abs(device.ltp_label * (1 + cfg.sigma_d2d * rng.standard_normal(shape2)))
            lab_d = np.abs(device.ltd_label * (1 + cfg.sigma_d2d * rng.standard_normal(shape2)))
            from archsim.analog.device import MAX_LABEL
            cap = MAX_LABEL * 0.999
            self.dev = DeviceArrays(self.P, label_to_a(np.minimum(lab_p, cap)), label_to_a(np.minimum(lab_d, cap)))
        else:
            self.dev = DeviceArrays(self.P, label_to_a(device.ltp_label), label_to_a(device.ltd_label))
        u0 = np.clip(w0.reshape(self.n_out, self.n_in).astype(np.float64) / self.bound, -1.0, 1.0)
        # the initial weights are programmed exactly (write-verify), not counted as training pulses
        if self.differential:
            self.g = np.stack([(1 + u0) / 2, (1 - u0) / 2])
        else:
            self.g = ((1 + u0) / 2)[None]
        self.pulses = np.zeros(shape2, np.int64)
        self.counters = ArrayCounters()
        self.gmin_rel = 1.0 / device.on_off
        self.row_tiles = -(-self.n_in // cfg.rows)
        self.col_tiles = -(-self.n_out // cfg.cols)
        self._row_starts = np.arange(0, self.n_in, cfg.rows)
        self._col_starts = np.arange(0, self.n_out, cfg.cols)
        self._cache: dict[str, np.ndarray] = {}
        if compiled:
            self._init_kernel()
        elif weights_out is not None:
            weights_out[...] = self.weights()

    def _init_kernel(self) -> None:
        """The kernel's operands: readout caches kept current in place, the device shapes."""
        for key in ("gp", "u", "row_g") + (("gm",) if self.differential else ()):
            self._cached(key)
        c = self._cache
        self._w = (self.bound * self.u()).astype(np.float32)
        if self.weights_out is not None:      # the kernel writes the weights straight into it
            self.weights_out[...] = self._w.reshape(self.shape)
            self._w = self.weights_out.reshape(-1)
        gm = c["gm"] if self.differential else np.zeros_like(c["gp"])
        a_ltp, a_ltd = self.dev.a_ltp, self.dev.a_ltd
        if np.ndim(a_ltp) or np.ndim(a_ltd):
            a_ltp = np.array(np.broadcast_to(a_ltp, self.g.shape), np.float64)
            a_ltd = np.array(np.broadcast_to(a_ltd, self.g.shape), np.float64)
        # d = 1 - exp(-1/a) as the reference computes it per pulsed device (numpy's expm1 gives
        # an element the same result wherever it sits)
        d_ltp = -np.expm1(-1.0 / np.asarray(a_ltp, np.float64))
        d_ltd = -np.expm1(-1.0 / np.asarray(a_ltd, np.float64))
        code, params = self.model.kernel()
        self._generic = code == K.MODEL_GENERIC
        self._round_mode = self.rounding.kernel_mode()
        d = self.device
        self._kernel = K.UpdateKernel(
            g=self.g, pulses=self.pulses, a_ltp=a_ltp, a_ltd=a_ltd, d_ltp=d_ltp, d_ltd=d_ltd, gp=c["gp"], gm=gm,
            u32=c["u"], row_g=c["row_g"], w=self._w, levels=self.P, rounding=self._round_mode, model=code,
            model_params=tuple(float(v) for v in params), differential=self.differential,
            scale=self.bound * self.step_u, gmin=self.gmin_rel, bound=self.bound, sigma=float(d.sigma_c2c),
            c_g=self.cfg.g_max_us * 1e-6, c_half=(1 - self.gmin_rel) * 0.5,
            e_ltp=d.ltp_voltage_v ** 2 * d.ltp_pulse_ns, e_ltd=d.ltd_voltage_v ** 2 * d.ltd_pulse_ns,
            t_ltp=float(d.ltp_pulse_ns), t_ltd=float(d.ltd_pulse_ns),
            ref_const=0.0 if self.differential else 0.5 * (1 + self.gmin_rel), rows=self.cfg.rows,
            cols=self.cfg.cols)
        self._gref = np.float32(self.gmin_rel + 0.5 * (1.0 - self.gmin_rel))
        self._span32 = np.float32(1.0 - self.gmin_rel)
        self._calibrated = self.cfg.adc_range != "full-scale"

    # ------------------------------------------------------------------ state
    def u(self) -> np.ndarray:
        """Normalised weights in [-1, 1], (n_out, n_in)."""
        return self.g[0] - self.g[1] if self.differential else 2 * self.g[0] - 1

    def weights(self) -> np.ndarray:
        """The weights the devices hold, float32, in the tensor's shape (a new array)."""
        if self.compiled:
            return self._w.reshape(self.shape).copy()
        return (self.bound * self.u()).astype(np.float32).reshape(self.shape)

    def _cached(self, key: str) -> np.ndarray:
        """Readout operands derived from the state, computed once per update."""
        got = self._cache.get(key)
        if got is None:
            span = 1.0 - self.gmin_rel
            if key == "u":
                got = self.u().astype(np.float32)
            elif key == "gp":
                got = (self.gmin_rel + self.g[0] * span).astype(np.float32)
            elif key == "gm":
                got = (self.gmin_rel + self.g[1] * span).astype(np.float32)
            else:  # "row_g": relative conductance per row, the reference column included
                g_rel = self.gmin_rel + self.g * span
                got = g_rel.sum(axis=(0, 1)) + (0.0 if self.differential else 0.5 * (1 + self.gmin_rel))
            self._cache[key] = got
        return got

    # ------------------------------------------------------------------ readout
    def mac(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        """``x @ W.T`` through DAC, crossbar and ADC; ``x`` (batch, n_in) -> (batch, n_out) float32.
        ``train``: count the conversions and read energy (the training forward passes)."""
        if not self.compiled:
            return self._mac_reference(x, train)
        cfg, c = self.cfg, self._cache
        x = np.ascontiguousarray(x, np.float32)
        out, n_phases, v2 = K.readout(x, c["gp"], c["gm"] if self.differential else None, c["u"], self._gref,
                                      self._span32, cfg.dac_bits, cfg.adc_bits, self._calibrated, self.bound,
                                      cfg.rows)
        if train and n_phases:
            self._count_reads(x.shape[0], n_phases, v2)
        return out

    def _count_reads(self, batch: int, n_phases: int, v2: np.ndarray) -> None:
        cfg, c = self.cfg, self.counters
        per_sample = self.n_out * self.row_tiles * n_phases
        ref_cols = 0 if self.differential or not cfg.adc_bits else self.row_tiles * n_phases
        if cfg.adc_bits:
            c.adc_conversions += batch * (per_sample * (2 if self.differential else 1) + ref_cols)
        c.macs += batch * self.n_out * self.n_in
        # V^2 G t of every cell read: sum_b sum_i (v_bi V_read)^2 sum_j G_ji (V, S, ns -> nJ; x 1e3 pJ)
        c.read_energy_pj += float(v2 @ self._cached("row_g")) * cfg.read_voltage_v ** 2 * cfg.g_max_us * 1e-6 \
            * cfg.read_pulse_ns * 1e3

    def _mac_reference(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        """:meth:`mac` in numpy (the reference of the compiled path)."""
        cfg = self.cfg
        x = np.asarray(x, np.float32)
        xmax = float(np.abs(x).max()) if x.size else 0.0
        if xmax == 0.0:
            return np.zeros((x.shape[0], self.n_out), np.float32)
        v = x / xmax
        if cfg.dac_bits:
            top = 2 ** cfg.dac_bits - 1
            v = np.rint(v * top) / top
        phases = [v] if v.min() >= 0 else [np.maximum(v, 0), np.maximum(-v, 0)]
        signs = (1.0,) if len(phases) == 1 else (1.0, -1.0)
        if not cfg.adc_bits:
            out = v @ self._cached("u").T
        else:
            out = np.zeros((x.shape[0], self.n_out), np.float32)
            span = np.float32(1.0 - self.gmin_rel)
            gp = self._cached("gp")
            gm = self._cached("gm") if self.differential else None
            gref = np.float32(self.gmin_rel + 0.5 * (1.0 - self.gmin_rel))
            levels = 2 ** cfg.adc_bits - 1
            for sign, ph in zip(signs, phases):
                for t in range(self.row_tiles):
                    sl = slice(t * cfg.rows, min((t + 1) * cfg.rows, self.n_in))
                    vt = ph[:, sl]
                    cur = vt @ gp[:, sl].T                              # (batch, n_out)
                    ref = vt @ gm[:, sl].T if gm is not None else vt.sum(axis=1, keepdims=True) * gref
                    if cfg.adc_range == "full-scale":
                        fs = np.float32(sl.stop - sl.start)
                    else:
                        fs = np.float32(max(float(cur.max()), float(np.max(ref)), 1e-30))
                    inv_q = np.float32(levels / fs)
                    cur *= inv_q                                        # currents in ADC steps
                    np.rint(cur, out=cur)
                    np.minimum(cur, levels, out=cur)                    # currents are never negative
                    ref = np.minimum(np.rint(ref * inv_q), levels)
                    cur -= ref
                    cur *= np.float32(sign * (1.0 if self.differential else 2.0) / (inv_q * span))
                    out += cur
        if train:
            c = self.counters
            per_sample = self.n_out * self.row_tiles * len(phases)
            ref_cols = 0 if self.differential or not cfg.adc_bits else self.row_tiles * len(phases)
            if cfg.adc_bits:
                c.adc_conversions += x.shape[0] * (per_sample * (2 if self.differential else 1) + ref_cols)
            c.macs += x.shape[0] * self.n_out * self.n_in
            # V^2 G t of every cell read: sum_b sum_i (v_bi V_read)^2 sum_j G_ji (V, S, ns -> nJ; x 1e3 pJ)
            row_g = self._cached("row_g")
            v2 = sum((ph.astype(np.float64) ** 2).sum(axis=0) for ph in phases)
            c.read_energy_pj += float(v2 @ row_g) * cfg.read_voltage_v ** 2 * cfg.g_max_us * 1e-6 \
                * cfg.read_pulse_ns * 1e3
        return (out * np.float32(xmax * self.bound)).astype(np.float32, copy=False)

    # ------------------------------------------------------------------ update
    def update(self, dw: np.ndarray) -> None:
        """Apply the desired change ``dw`` (tensor units) as pulses."""
        if not np.isfinite(dw).all():  # NaN pulses would count as -2**63 and program nothing
            raise ArchsimError(f"analog array {self.name}: a weight change holds a non-finite value (the training "
                               "diverged: lower the learning rate, or check the gradients)")
        if not self.compiled:
            return self._update_reference(dw)
        c = self.counters
        c.updates += 1
        k = self._kernel
        if self._round_mode != K.ROUND_GIVEN and type(dw) is np.ndarray and dw.dtype == np.float32:
            n_pulsed = k.update(np.ascontiguousarray(dw).reshape(-1), self.rng, self._apply_generic)
        else:       # the rule in numpy (a rule without a compiled form, or float64 changes), the rest compiled
            given = self.rounding(np.asarray(dw, np.float64).reshape(self.n_out, self.n_in)
                                  / (self.bound * self.step_u), self.rng)
            n_pulsed = k.update(np.ascontiguousarray(given, np.float64).reshape(-1), self.rng, self._apply_generic,
                                given=True)
        if n_pulsed:
            c.ltp_pulses += k.ltp
            c.ltd_pulses += k.ltd
            c.programming_energy_pj += k.energy_sum * 1e3
            c.programming_time_ns += k.program_time_ns

    def _apply_generic(self, idx: np.ndarray, ns: np.ndarray, before: np.ndarray) -> np.ndarray:
        """A model without a compiled form, on the pulsed devices (flat indices, pulses, states)."""
        sub = DeviceArrays(self.dev.levels, _flat_pick(self.dev.a_ltp, idx, self.g.shape),
                           _flat_pick(self.dev.a_ltd, idx, self.g.shape))
        return self.model.apply(before.copy(), ns.copy(), sub)

    def _update_reference(self, dw: np.ndarray) -> None:
        """:meth:`update` in numpy (the reference of the compiled path)."""
        n = self.rounding(np.asarray(dw, np.float64).reshape(self.n_out, self.n_in) / (self.bound * self.step_u),
                          self.rng)
        n = np.clip(n, -self.P, self.P)
        c = self.counters
        c.updates += 1
        flat_n = n.reshape(-1)
        idx1 = np.flatnonzero(flat_n)
        if idx1.size == 0:
            return
        m = self.n_out * self.n_in
        if self.differential:             # +n on G+ (first plane), -n on G- (second plane)
            idx = np.concatenate([idx1, idx1 + m])
            ns = np.concatenate([flat_n[idx1], -flat_n[idx1]])
        else:
            idx, ns = idx1, flat_n[idx1]
        g_flat = self.g.reshape(-1)
        before = g_flat[idx]
        after = pulse_devices(self.model, g_flat, idx, ns, self.dev, self.g.shape,
                              sigma_c2c=self.device.sigma_c2c, rng=self.rng)
        g_flat[idx] = after
        self._cache.clear()
        up = ns > 0
        absn = np.abs(ns)
        n_up = float(absn[up].sum())
        c.ltp_pulses += int(n_up)
        c.ltd_pulses += int(absn.sum() - n_up)
        self.pulses.reshape(-1)[idx] += absn.astype(np.int64)       # idx are distinct devices
        d = self.device
        # V^2 G t per pulse, G the mean of before and after: V, S, ns -> nJ; x 1e3 -> pJ
        g_mid = self.cfg.g_max_us * 1e-6 * (self.gmin_rel + (1 - self.gmin_rel) * 0.5 * (before + after))
        per_pulse = np.where(up, d.ltp_voltage_v ** 2 * d.ltp_pulse_ns, d.ltd_voltage_v ** 2 * d.ltd_pulse_ns)
        c.programming_energy_pj += float((absn * per_pulse * g_mid).sum()) * 1e3
        c.programming_time_ns += self._program_time_ns(n)
        if self.weights_out is not None:
            self.weights_out[...] = self.weights()

    def _program_time_ns(self, n: np.ndarray) -> float:
        """Rows one at a time per subarray (the LTP pulses of all the row's cells in parallel, then the
        LTD pulses), subarrays in parallel. ``n``: pulses per weight (n_out, n_in); a differential
        pair's two devices sit in parallel columns, one potentiated and one depressed by ``|n|``."""
        d = self.device
        total = 0.0
        if self.differential:
            a = np.abs(n)
            phases = ((a, d.ltp_pulse_ns), (a, d.ltd_pulse_ns))
        else:
            phases = ((np.maximum(n, 0), d.ltp_pulse_ns), (np.maximum(-n, 0), d.ltd_pulse_ns))
        for arr, t_ns in phases:
            per_row = arr.max(axis=0, keepdims=True) if self.col_tiles == 1 else \
                np.maximum.reduceat(arr, self._col_starts, axis=0)        # (col tiles, n_in)
            per_tile = per_row.sum(axis=1, keepdims=True) if self.row_tiles == 1 else \
                np.add.reduceat(per_row, self._row_starts, axis=1)        # (col tiles, row tiles)
            total = total + per_tile * t_ns
        return float(np.max(total))

    # ------------------------------------------------------------------ summary
    @property
    def devices(self) -> int:
        return int(self.pulses.size)
