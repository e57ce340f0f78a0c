"""Fixtures of the CLI tests: ``cluster``, a Dask scheduler and two single-thread workers on loopback
(each its own process), shared by the tests that run work on a cluster (sweeps, sharded runs)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log.open("w"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A scheduler and two single-thread workers, each its own process, on 127.0.0.1; yields its address."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    address_file = tmp_path / "scheduler.json"
    procs = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(address_file)], tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError("the Dask scheduler did not start:\n" + (tmp_path / "scheduler.log").read_text())
            time.sleep(0.2)
        for i in range(2):
            procs.append(_start(["distributed.cli.dask_worker", "--scheduler-file", str(address_file), "--nthreads",
                                 "1", "--no-dashboard", "--name", f"w{i}"], tmp_path / f"worker{i}.log"))
        address = json.loads(address_file.read_text())["address"]
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
