"""The data sets of the built-in workloads: scikit-learn's digits (bundled) and MNIST (from disk)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workloads.idx import DatasetError, read_idx

MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Dataset:
    """Images as float32 (N, channels, height, width) scaled to [0, 1]; labels int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def load_digits_dataset(test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 8x8 digits (ships with the package), split stratified.

    The split is fixed by ``split_seed`` (not by the training seed) so that
    accuracies of different training seeds are measured on the same test set.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=split_seed,
                                              stratify=y)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, 10)


def _find(data_dir: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise DatasetError(f"MNIST directory {data_dir}: {stem}[.gz] not found (archsim never downloads "
                       f"data; put the four IDX files there)")


def load_mnist_dataset(data_dir: str | os.PathLike) -> Dataset:
    """MNIST from the four IDX files in ``data_dir`` (plain or ``.gz``)."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DatasetError(f"MNIST directory {data_dir}: not found")
    arrays = {k: read_idx(_find(data_dir, stem)) for k, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        xf, yf = _find(data_dir, MNIST_FILES[f"x_{split}"]), _find(data_dir, MNIST_FILES[f"y_{split}"])
        if x.ndim != 3 or x.dtype != np.uint8:
            raise DatasetError(f"IDX file {xf}: expected uint8 images (N, rows, cols), got {x.dtype} {x.shape}")
        if y.ndim != 1 or len(y) != len(x):
            raise DatasetError(f"IDX file {yf}: {y.shape} labels for {len(x)} images in {xf.name}")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DatasetError(f"IDX file {yf}: labels outside 0..9")
    to_x = lambda a: (a.astype(np.float32) / 255.0)[:, None, :, :]  # noqa: E731
    return Dataset("mnist", to_x(arrays["x_train"]), arrays["y_train"].astype(np.int64),
                   to_x(arrays["x_test"]), arrays["y_test"].astype(np.int64), 10)
