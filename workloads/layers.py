"""Neural-network layers in plain numpy (float32, NCHW), with hand-written backward passes.

Each layer has ``forward(x, train)`` (caching what backward needs), ``backward(grad)``
(returning the gradient of its input and filling ``grads``), ``params`` (a dict
``kind -> array`` with kinds ``"weight"`` and ``"bias"``) and ``spec(in_shape)``
describing its output shape and forward FLOPs per sample for the trace metadata.
Convolutions use im2col (a strided window view, one matrix product), so the
trainer runs at BLAS speed.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from workloads.network import LayerSpec, conv_flops, dense_flops

F32 = np.float32


class Readout:
    """How a Dense or Conv2D layer computes its matrix product ``x @ wmat.T`` in the forward pass.

    The default is the exact digital product; an analog crossbar (:mod:`archsim.analog`) replaces
    it with its DAC / array / ADC readout, the backward pass staying digital.
    """

    def mac(self, x: np.ndarray, wmat: np.ndarray, train: bool) -> np.ndarray:
        return x @ wmat.T


DIGITAL = Readout()


class Layer:
    op = "layer"

    def __init__(self, name: str) -> None:
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def recache(self, x: np.ndarray) -> None:
        """Rebuild what :meth:`backward` needs from input ``x`` (the input as a memory returned it at the
        backward pass, :class:`workloads.memory.IntermediateMemory`). Default: a training forward pass
        whose output is dropped; layers whose forward computes more than the cache override it."""
        self.forward(x, train=True)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return in_shape

    def flops(self, in_shape: tuple[int, ...]) -> int:
        """Forward FLOPs per sample."""
        return int(np.prod(self.out_shape(in_shape)))

    def spec(self, in_shape: tuple[int, ...], inputs: tuple[str, ...] = ()) -> LayerSpec:
        return LayerSpec(
            self.name, self.op, self.out_shape(in_shape), self.flops(in_shape),
            weight_shape=tuple(self.params["weight"].shape) if "weight" in self.params else None,
            bias_shape=tuple(self.params["bias"].shape) if "bias" in self.params else None,
            inputs=inputs,
        )


class Conv2D(Layer):
    """2-D convolution, stride 1, zero padding ``pad``; weight (c_out, c_in, k, k), bias (c_out,)."""

    op = "conv"

    def __init__(self, name: str, c_in: int, c_out: int, k: int, pad: int, rng: np.random.Generator):
        super().__init__(name)
        self.c_in, self.c_out, self.k, self.pad = c_in, c_out, k, pad
        std = np.sqrt(2.0 / (c_in * k * k))  # He initialisation for ReLU networks
        self.params = {"weight": (rng.standard_normal((c_out, c_in, k, k)) * std).astype(F32),
                       "bias": np.zeros(c_out, F32)}
        self.readout: Readout = DIGITAL

    def out_shape(self, in_shape):
        _, h, w = in_shape
        return (self.c_out, h + 2 * self.pad - self.k + 1, w + 2 * self.pad - self.k + 1)

    def flops(self, in_shape):
        c, ho, wo = self.out_shape(in_shape)
        return conv_flops(self.c_in, c, self.k, ho, wo)

    def _cols(self, x):
        """(im2col matrix (n * ho * wo, c * k * k), padded input shape, ho, wo) of input ``x``."""
        p, k = self.pad, self.k
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, c, h, w = x.shape
        ho, wo = h - k + 1, w - k + 1
        win = sliding_window_view(x, (k, k), axis=(2, 3))          # (n, c, ho, wo, k, k)
        return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k), x.shape, ho, wo

    def recache(self, x):
        cols, xshape, _, _ = self._cols(x)
        self._cache = (cols, xshape)

    def forward(self, x, train=True):
        cols, xshape, ho, wo = self._cols(x)
        n = xshape[0]
        wmat = self.params["weight"].reshape(self.c_out, -1)
        out = self.readout.mac(cols, wmat, train)
        out += self.params["bias"]
        if train:
            self._cache = (cols, xshape)
        return np.ascontiguousarray(out.reshape(n, ho, wo, self.c_out).transpose(0, 3, 1, 2))

    def backward(self, grad):
        cols, xshape = self._cache
        n, c, h, w = xshape
        k, p = self.k, self.pad
        ho, wo = h - k + 1, w - k + 1
        g2 = grad.transpose(0, 2, 3, 1).reshape(-1, self.c_out)
        wmat = self.params["weight"].reshape(self.c_out, -1)
        self.grads = {"weight": (g2.T @ cols).reshape(self.params["weight"].shape),
                      "bias": g2.sum(axis=0)}
        dcols = (g2 @ wmat).reshape(n, ho, wo, c, k, k)
        dx = np.zeros(xshape, F32)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + ho, j:j + wo] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        self._cache = None
        return dx[:, :, p:h - p, p:w - p] if p else dx


class MaxPool2D(Layer):
    """Non-overlapping max pooling over ``size x size`` windows (dimensions must divide)."""

    op = "pool"

    def __init__(self, name: str, size: int = 2):
        super().__init__(name)
        self.size = size

    def out_shape(self, in_shape):
        c, h, w = in_shape
        if h % self.size or w % self.size:
            raise ValueError(f"{self.name}: {h}x{w} not divisible by {self.size}")
        return (c, h // self.size, w // self.size)

    def flops(self, in_shape):
        return int(np.prod(in_shape))  # one comparison per input element

    def forward(self, x, train=True):
        n, c, h, w = x.shape
        s = self.size
        xr = x.reshape(n, c, h // s, s, w // s, s).transpose(0, 1, 2, 4, 3, 5).reshape(
            n, c, h // s, w // s, s * s)
        idx = xr.argmax(axis=-1)
        if train:
            self._cache = (idx, x.shape)
        return np.take_along_axis(xr, idx[..., None], axis=-1)[..., 0]

    def backward(self, grad):
        idx, (n, c, h, w) = self._cache
        s = self.size
        dxr = np.zeros((n, c, h // s, w // s, s * s), F32)
        np.put_along_axis(dxr, idx[..., None], grad[..., None], axis=-1)
        self._cache = None
        return dxr.reshape(n, c, h // s, w // s, s, s).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


class ReLU(Layer):
    op = "relu"

    def forward(self, x, train=True):
        mask = x > 0
        if train:
            self._mask = mask
        return x * mask

    def backward(self, grad):
        g = grad * self._mask
        self._mask = None
        return g


class Dense(Layer):
    """Fully connected: ``y = x @ W.T + b``; weight (n_out, n_in), bias (n_out,). Flattens its input."""

    op = "fc"

    def __init__(self, name: str, n_in: int, n_out: int, rng: np.random.Generator):
        super().__init__(name)
        self.n_in, self.n_out = n_in, n_out
        std = np.sqrt(2.0 / n_in)
        self.params = {"weight": (rng.standard_normal((n_out, n_in)) * std).astype(F32),
                       "bias": np.zeros(n_out, F32)}
        self.readout: Readout = DIGITAL

    def out_shape(self, in_shape):
        if int(np.prod(in_shape)) != self.n_in:
            raise ValueError(f"{self.name}: input {in_shape} has not {self.n_in} values")
        return (self.n_out,)

    def flops(self, in_shape):
        return dense_flops(self.n_in, self.n_out)

    def recache(self, x):
        self._cache = (x.reshape(x.shape[0], -1), x.shape)

    def forward(self, x, train=True):
        x2 = x.reshape(x.shape[0], -1)
        if train:
            self._cache = (x2, x.shape)
        out = self.readout.mac(x2, self.params["weight"], train)
        out += self.params["bias"]
        return out

    def backward(self, grad):
        x2, xshape = self._cache
        self.grads = {"weight": grad.T @ x2, "bias": grad.sum(axis=0)}
        self._cache = None
        return (grad @ self.params["weight"]).reshape(xshape)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy loss (nats) and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.log(p[np.arange(n), labels] + 1e-12).mean())
    p[np.arange(n), labels] -= 1
    return loss, (p / n).astype(F32)
