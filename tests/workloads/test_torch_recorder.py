"""The PyTorch recorder on small real models: recorded values equal the parameters after each step."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

from workloads import open_trace  # noqa: E402
from workloads.torch_recorder import TorchRecorder  # noqa: E402


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def _snapshot(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]).astype(np.float32)


def _train(model, opt, rec, steps, batch=6):
    g = torch.Generator().manual_seed(0)
    snaps = []
    for _ in range(steps):
        x = torch.randn(batch, 1, 8, 8, generator=g)
        y = torch.randint(0, 3, (batch,), generator=g)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if rec is not None:
            rec.set_loss(loss.item())
        opt.step()
        snaps.append(_snapshot(model))
    return np.stack(snaps)


def test_records_every_parameter_after_each_step(tmp_path):
    torch.manual_seed(0)
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with TorchRecorder(tmp_path / "cnn.trace", opt, model=model, dataset="random", seed=0,
                       rows_per_chunk=4, fsync=False) as rec:
        snaps = _train(model, opt, rec, 9)
    r = open_trace(tmp_path / "cnn.trace")
    m = r.meta
    assert r.n_iterations == 9 and m.complete
    assert r.read().tobytes() == snaps.tobytes()
    assert [(t.name, t.layer, t.kind, t.shape) for t in m.params] == [
        ("features.0.weight", "features.0", "weight", (4, 1, 3, 3)),
        ("features.0.bias", "features.0", "bias", (4,)),
        ("classifier.weight", "classifier", "weight", (3, 64)),
        ("classifier.bias", "classifier", "bias", (3,)),
    ]
    assert m.optimizer == "sgd" and m.learning_rate == 0.1 and m.optimizer_params["momentum"] == 0.9
    assert m.batch_size == 6 and m.recorder == "archsim-torch-recorder"
    rec_df = r.records()
    assert rec_df["iteration"].tolist() == list(range(9)) and np.isfinite(rec_df["loss"]).all()
    # intermediate data observed by forward hooks
    conv = m.tensor("features.0.out")
    assert conv.kind == "intermediate" and conv.shape == (4, 8, 8) and conv.bytes_per_sample == 4 * 64 * 4
    fwd = m.schedule[conv.written_at]
    assert (fwd.phase, fwd.layer, fwd.flops_per_sample) == ("forward", "features.0", 2 * 9 * 4 * 64)
    assert m.lifetime_flops("features.0.out") > 0


def test_every_k_and_adam_without_model(tmp_path):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rec = TorchRecorder(tmp_path / "mlp.trace", opt, every=3, first_iteration=1, fsync=False)
    g = torch.Generator().manual_seed(0)
    snaps = []
    for _ in range(10):
        opt.zero_grad()
        out = model(torch.randn(4, 5, generator=g))
        out.square().mean().backward()
        opt.step()
        snaps.append(_snapshot(model))
    rec.close(results={"note": "done"})
    r = open_trace(tmp_path / "mlp.trace")
    assert r.records()["iteration"].tolist() == [1, 4, 7]
    np.testing.assert_array_equal(r.read(), np.stack(snaps)[[1, 4, 7]])
    assert r.meta.optimizer == "adam" and r.meta.results == {"note": "done"}
    assert [t.kind for t in r.meta.params] == ["weight", "bias", "weight", "bias"]  # by dimension
    assert not r.meta.intermediates
    opt.step()  # the hook is gone after close
    assert open_trace(tmp_path / "mlp.trace").n_iterations == 3


def test_exception_leaves_a_readable_prefix(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(RuntimeError):
        with TorchRecorder(tmp_path / "x.trace", opt, model=model, fsync=False):
            for i in range(3):
                model(torch.ones(2, 3)).sum().backward()
                opt.step()
            raise RuntimeError("interrupted")
    r = open_trace(tmp_path / "x.trace")
    assert r.n_iterations == 3 and not r.meta.complete
