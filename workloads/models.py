"""The built-in numpy models: a sequential container and the LeNet-style CNNs and MLPs."""
from __future__ import annotations

import numpy as np

from workloads.layers import Conv2D, Dense, Layer, MaxPool2D, ReLU
from workloads.meta import Step, TensorSpec
from workloads.network import describe_network


class Sequential:
    """Layers applied in order. ``input_shape`` is per sample (channels, height, width)."""

    def __init__(self, name: str, layers: list[Layer], input_shape: tuple[int, ...], n_classes: int):
        self.name = name
        self.layers = layers
        self.input_shape = tuple(input_shape)
        self.n_classes = n_classes
        self.describe(momentum=False)  # check the shapes fit now, not mid-training

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, grad: np.ndarray) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def named_params(self) -> list[tuple[str, str, str, np.ndarray]]:
        """``(tensor name, layer, kind, array)`` of every weight and bias, in row order."""
        return [(f"{layer.name}.{kind}", layer.name, kind, arr)
                for layer in self.layers for kind, arr in layer.params.items()]

    @property
    def n_params(self) -> int:
        return sum(a.size for *_, a in self.named_params())

    def describe(self, *, momentum: bool) -> tuple[tuple[TensorSpec, ...], tuple[Step, ...]]:
        """Tensors and iteration schedule for the trace metadata."""
        specs = []
        shape = self.input_shape
        for layer in self.layers:
            specs.append(layer.spec(shape))
            shape = specs[-1].out_shape
        return describe_network(specs, self.input_shape, n_classes=self.n_classes, momentum=momentum)

    def predict(self, x: np.ndarray, batch: int = 512) -> np.ndarray:
        """Class indices for the samples of ``x`` (no caches kept)."""
        out = [self.forward(x[i:i + batch], train=False).argmax(axis=1) for i in range(0, len(x), batch)]
        return np.concatenate(out)


def lenet_digits(rng: np.random.Generator) -> Sequential:
    """LeNet-style CNN for 8x8 digits: conv(6,3x3)-pool-conv(16,3x3)-pool-fc120-fc84-fc10 (19,754 parameters)."""
    return Sequential("lenet-digits", [
        Conv2D("conv1", 1, 6, 3, 1, rng), ReLU("relu1"), MaxPool2D("pool1"),
        Conv2D("conv2", 6, 16, 3, 1, rng), ReLU("relu2"), MaxPool2D("pool2"),
        Dense("fc1", 64, 120, rng), ReLU("relu3"),
        Dense("fc2", 120, 84, rng), ReLU("relu4"),
        Dense("fc3", 84, 10, rng),
    ], (1, 8, 8), 10)


def mlp_digits(rng: np.random.Generator) -> Sequential:
    """MLP for 8x8 digits: 64-128-64-10 with ReLU (17,226 parameters)."""
    return Sequential("mlp-digits", [
        Dense("fc1", 64, 128, rng), ReLU("relu1"),
        Dense("fc2", 128, 64, rng), ReLU("relu2"),
        Dense("fc3", 64, 10, rng),
    ], (1, 8, 8), 10)


def lenet_mnist(rng: np.random.Generator) -> Sequential:
    """Caffe's LeNet for 28x28 MNIST, the AppWOM paper's model (431,080 parameters):
    conv1(20,5x5)-pool1-conv2(50,5x5)-pool2-ip1(500)-relu1-ip2(10)."""
    return Sequential("lenet-mnist", [
        Conv2D("conv1", 1, 20, 5, 0, rng), MaxPool2D("pool1"),
        Conv2D("conv2", 20, 50, 5, 0, rng), MaxPool2D("pool2"),
        Dense("ip1", 800, 500, rng), ReLU("relu1"),
        Dense("ip2", 500, 10, rng),
    ], (1, 28, 28), 10)


def mlp_mnist(rng: np.random.Generator) -> Sequential:
    """MLP for 28x28 MNIST: 784-300-100-10 (LeNet-300-100, 266,610 parameters)."""
    return Sequential("mlp-mnist", [
        Dense("fc1", 784, 300, rng), ReLU("relu1"),
        Dense("fc2", 300, 100, rng), ReLU("relu2"),
        Dense("fc3", 100, 10, rng),
    ], (1, 28, 28), 10)
