"""A sweep on a Dask cluster of separate processes (a scheduler and two workers on loopback), the recipe of
docs/user-guide.md: points spread over both workers, a plugin loaded on each, what a point logs on a worker
logged again by the client. The cluster is the ``cluster`` fixture of tests/cli/conftest.py."""
from __future__ import annotations

import logging

import pandas as pd

from archsim.cli import main

PLUGIN = '''
import logging, os
import pandas as pd
from archsim.sweep import SWEEP_EXPERIMENTS

def where(config, cache_dir):
    logging.getLogger("archsim.plugin").warning("seed %d ran in process %d", config.run.seed, os.getpid())
    row = pd.DataFrame([{"scheme": "none", "pid": os.getpid(), "seed_squared": config.run.seed ** 2}])
    return row, row.copy()

SWEEP_EXPERIMENTS.register("where", where, replace=True)
'''


def test_sweep_on_two_worker_processes(tmp_path, cluster, caplog):
    plugin = tmp_path / "where_plugin.py"
    plugin.write_text(PLUGIN)
    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nexperiment = "where"\ngrid = {"run.seed" = [1, 2, 3, 4, 5, 6]}\n')
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        assert main(["--plugin", str(plugin), "sweep", "--config", str(sweep), "--out", str(out),
                     "--scheduler", cluster, "--no-progress"]) == 0
    table = pd.read_csv(out / "results.csv")
    assert sorted(table["run.seed"]) == [1, 2, 3, 4, 5, 6]
    assert (table["seed_squared"] == table["run.seed"] ** 2).all()
    assert table["pid"].nunique() == 2  # both workers took points
    relayed = [r.getMessage() for r in caplog.records if r.name == "archsim.sweep"]
    assert len(relayed) == 6 and all("ran in process" in m for m in relayed)
    assert {m.split(": ", 1)[0].removeprefix("sweep point ") for m in relayed} == set(table["point"])


def test_run_sweep_takes_a_client(tmp_path, cluster):
    """From Python: a dask Client (or a cluster object) instead of an address; the client is left open."""
    from dask.distributed import Client

    from archsim.sweep import load_results, load_sweep, run_sweep

    sweep = tmp_path / "s.toml"
    sweep.write_text('[base.run]\nworkload = "mlp-digits"\niterations = 3\nschemes = ["preset"]\n'
                     '[sweep]\ngrid = {"run.seed" = [1, 2]}\n')
    with Client(cluster) as client:
        counts = run_sweep(load_sweep(sweep), tmp_path / "out", scheduler=client, progress=False,
                           cache_dir=tmp_path / "cache")
        assert counts == {"points": 2, "skipped": 0, "ran": 2}
        assert client.status == "running"
    assert len(load_results(tmp_path / "out")) == 2
