"""Layer tables of the AppWOM paper's networks, for the synthetic generator.

Each builder returns the :class:`~workloads.network.LayerSpec` list of a network
with its exact parameter shapes, per-sample output shapes and forward FLOPs:

- ``lenet``: Caffe's LeNet for MNIST (431,080 parameters, the paper's count).
- ``googlenet``: GoogLeNet (Szegedy et al. 2015, BVLC Caffe layout, auxiliary
  classifiers left out as at inference) on 1-channel input resized to
  ``image_size`` (224), 10 classes: 5,977,530 parameters.
- ``densenet-bc``: DenseNet-BC with L=100, k=12, compression 0.5 on CIFAR-10
  (Huang et al. 2017): 769,162 parameters (batch-norm scale and shift included,
  running statistics excluded; convolutions without bias).

The paper does not list the layers; these are the standard published networks.
"""
from __future__ import annotations

import math

from workloads.network import LayerSpec, conv_flops, dense_flops


class NetBuilder:
    """Tracks shapes while layers are appended; every method returns the new layer's name."""

    def __init__(self, input_shape: tuple[int, int, int]) -> None:
        self.layers: list[LayerSpec] = []
        self.shapes: dict[str, tuple[int, ...]] = {"input": tuple(input_shape)}
        self.last = "input"

    def _add(self, spec: LayerSpec) -> str:
        self.layers.append(spec)
        self.shapes[spec.name] = spec.out_shape
        self.last = spec.name
        return spec.name

    def conv(self, name, c_out, k, stride=1, pad=0, bias=True, src=None) -> str:
        src = src or self.last
        c, h, w = self.shapes[src]
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self._add(LayerSpec(name, "conv", (c_out, ho, wo), conv_flops(c, c_out, k, ho, wo, bias),
                                   (c_out, c, k, k), (c_out,) if bias else None, (src,)))

    def pool(self, name, k, stride, pad=0, src=None) -> str:
        """Max or average pooling in Caffe's ceil mode; ``k=None`` pools globally."""
        src = src or self.last
        c, h, w = self.shapes[src]
        if k is None:
            ho = wo = 1
            k = h
        else:
            ho = math.ceil((h + 2 * pad - k) / stride) + 1
            wo = math.ceil((w + 2 * pad - k) / stride) + 1
        return self._add(LayerSpec(name, "pool", (c, ho, wo), c * ho * wo * k * k, inputs=(src,)))

    def relu(self, name, src=None) -> str:
        src = src or self.last
        shape = self.shapes[src]
        return self._add(LayerSpec(name, "relu", shape, math.prod(shape), inputs=(src,)))

    def bn(self, name, src=None) -> str:
        src = src or self.last
        shape = self.shapes[src]
        c = shape[0]
        return self._add(LayerSpec(name, "bn", shape, 4 * math.prod(shape), (c,), (c,), (src,)))

    def concat(self, name, srcs) -> str:
        shapes = [self.shapes[s] for s in srcs]
        out = (sum(s[0] for s in shapes),) + shapes[0][1:]
        return self._add(LayerSpec(name, "concat", out, 0, inputs=tuple(srcs)))

    def fc(self, name, n_out, src=None) -> str:
        src = src or self.last
        n_in = math.prod(self.shapes[src])
        return self._add(LayerSpec(name, "fc", (n_out,), dense_flops(n_in, n_out), (n_out, n_in), (n_out,),
                                   (src,)))


def lenet() -> tuple[list[LayerSpec], tuple[int, ...], int]:
    b = NetBuilder((1, 28, 28))
    b.conv("conv1", 20, 5)
    b.pool("pool1", 2, 2)
    b.conv("conv2", 50, 5)
    b.pool("pool2", 2, 2)
    b.fc("ip1", 500)
    b.relu("relu1")
    b.fc("ip2", 10)
    return b.layers, b.shapes["input"], 10


_INCEPTION = {  # name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj)
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(image_size: int = 224) -> tuple[list[LayerSpec], tuple[int, ...], int]:
    b = NetBuilder((1, image_size, image_size))
    b.conv("conv1/7x7_s2", 64, 7, 2, 3)
    b.relu("conv1/relu")
    b.pool("pool1/3x3_s2", 3, 2)
    b.conv("conv2/3x3_reduce", 64, 1)
    b.relu("conv2/relu_reduce")
    b.conv("conv2/3x3", 192, 3, 1, 1)
    b.relu("conv2/relu")
    b.pool("pool2/3x3_s2", 3, 2)
    for name, (c1, r3, c3, r5, c5, pp) in _INCEPTION.items():
        if name == "4a":
            b.pool("pool3/3x3_s2", 3, 2)
        if name == "5a":
            b.pool("pool4/3x3_s2", 3, 2)
        src = b.last
        p = f"inception_{name}"
        outs = [b.relu(f"{p}/relu_1x1", b.conv(f"{p}/1x1", c1, 1, src=src))]
        b.relu(f"{p}/relu_3x3_reduce", b.conv(f"{p}/3x3_reduce", r3, 1, src=src))
        outs.append(b.relu(f"{p}/relu_3x3", b.conv(f"{p}/3x3", c3, 3, 1, 1)))
        b.relu(f"{p}/relu_5x5_reduce", b.conv(f"{p}/5x5_reduce", r5, 1, src=src))
        outs.append(b.relu(f"{p}/relu_5x5", b.conv(f"{p}/5x5", c5, 5, 1, 2)))
        b.pool(f"{p}/pool", 3, 1, 1, src=src)
        outs.append(b.relu(f"{p}/relu_pool_proj", b.conv(f"{p}/pool_proj", pp, 1)))
        b.concat(f"{p}/output", outs)
    b.pool("pool5/7x7_s1", None, 1)
    b.fc("loss3/classifier", 10)
    return b.layers, b.shapes["input"], 10


def densenet_bc(depth: int = 100, growth: int = 12, compression: float = 0.5
                ) -> tuple[list[LayerSpec], tuple[int, ...], int]:
    n = (depth - 4) // 6
    b = NetBuilder((3, 32, 32))
    channels = 2 * growth
    b.conv("conv1", channels, 3, 1, 1, bias=False)
    for block in range(1, 4):
        feats = [b.last]
        for i in range(1, n + 1):
            p = f"block{block}/layer{i}"
            src = feats[0] if len(feats) == 1 else b.concat(f"{p}/concat", feats)
            b.bn(f"{p}/bn1", src)
            b.relu(f"{p}/relu1")
            b.conv(f"{p}/conv1x1", 4 * growth, 1, bias=False)
            b.bn(f"{p}/bn2")
            b.relu(f"{p}/relu2")
            feats.append(b.conv(f"{p}/conv3x3", growth, 3, 1, 1, bias=False))
            channels += growth
        b.concat(f"block{block}/output", feats)
        if block < 3:
            channels = int(math.floor(channels * compression))
            b.bn(f"trans{block}/bn")
            b.relu(f"trans{block}/relu")
            b.conv(f"trans{block}/conv", channels, 1, bias=False)
            b.pool(f"trans{block}/pool", 2, 2)
    b.bn("final/bn")
    b.relu("final/relu")
    b.pool("final/pool", None, 1)
    b.fc("classifier", 10)
    return b.layers, b.shapes["input"], 10


ARCHITECTURES = {"lenet": lenet, "googlenet": googlenet, "densenet-bc": densenet_bc}
