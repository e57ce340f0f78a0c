"""Where Dask work runs: one way to get a ``dask.distributed`` client for sweeps and sharded runs.

``archsim sweep`` (:mod:`archsim.sweep`) and ``archsim run --workers N / --scheduler ADDRESS``
(:mod:`archsim.shard`) take the same ``scheduler``: the address of a running scheduler
(``"tcp://host:8786"``), a ``dask.distributed.Client`` (used as it is, left open), or a dask cluster
(``distributed.deploy.Cluster``: a ``LocalCluster``, a dask-jobqueue ``SLURMCluster``/``PBSCluster``,
...; left running). Without one, a ``LocalCluster`` of ``workers`` single-threaded worker processes,
its dashboard on the loopback interface, closed afterwards.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from archsim.errors import ArchsimError


@contextmanager
def dask_client(scheduler: Any = None, workers: int | None = None, *, default_workers: int = 1) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``scheduler`` (see the module docstring), or for a new
    ``LocalCluster`` of ``workers`` processes (``default_workers`` when None); what this opened is
    closed on exit."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    own_client = True
    if isinstance(scheduler, Client):
        client, own_client = scheduler, False
    elif scheduler is not None and not isinstance(scheduler, str):
        from distributed.deploy import Cluster

        if not isinstance(scheduler, Cluster):  # LocalCluster, dask-jobqueue's, dask-kubernetes', ...
            raise ArchsimError(f"scheduler: {type(scheduler).__name__} is neither an address, a dask Client nor a "
                               "dask cluster")
        client = Client(scheduler, timeout="20s")
    elif isinstance(scheduler, str):
        check_address(scheduler)
        try:
            client = Client(scheduler.strip(), timeout="20s")
        except Exception as exc:
            raise ArchsimError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
    else:
        n = workers or default_workers
        from archsim.run import usable_cpus

        cpus = usable_cpus()
        if n > cpus:  # allowed from Python (the command line refuses it: check_local_workers)
            logging.getLogger("archsim.cluster").warning(
                "note: a local cluster of %d worker processes on %d usable CPU(s): they compete for them", n, cpus)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address="127.0.0.1:0",
                               silence_logs=logging.CRITICAL)  # a failing task is reported once, cleanly
        client = Client(cluster)
    try:
        yield client
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def check_dask_options(scheduler: Any, workers: int | None) -> None:
    """The command line's ``--scheduler`` / ``--workers`` checked before a command claims its folder
    (:func:`check_address`, :func:`check_local_workers`)."""
    if isinstance(scheduler, str):
        check_address(scheduler)
    elif scheduler is None and workers is not None:
        check_local_workers(workers)


def check_address(address: str) -> None:
    """One error for a scheduler address that cannot be one (empty, or a port outside 1-65535), before
    the client waits its connection timeout for it."""
    from urllib.parse import urlsplit

    text = address.strip()
    if not text:
        raise ArchsimError("--scheduler: the address is empty (give tcp://HOST:PORT, or leave --scheduler out "
                           "for a local cluster)")
    try:
        port = urlsplit(text if "://" in text else f"tcp://{text}").port
    except ValueError:
        raise ArchsimError(f"--scheduler {address}: the port is not a number from 1 to 65535") from None
    if port == 0:
        raise ArchsimError(f"--scheduler {address}: the port is not a number from 1 to 65535")


def check_local_workers(n: int) -> None:
    """A local cluster of at most as many worker processes as this process has CPUs: more only compete
    for them (and a typo of --workers 200 would start 200 interpreters)."""
    from archsim.run import usable_cpus

    cpus = usable_cpus()
    if n > cpus:
        raise ArchsimError(f"--workers {n}: this machine gives archsim {cpus} CPU(s), and a local cluster of more "
                           f"worker processes than that only makes them compete; give at most --workers {cpus}, "
                           "or start a Dask cluster across machines and give --scheduler ADDRESS")


def load_plugins(plugins: Sequence[str]) -> None:
    """Load the ``--plugin`` modules or files a worker's task needs, each once per process (a task's
    configuration may name a plugin's objects)."""
    from archsim.registry import load_plugin

    for spec in plugins:  # load_plugin skips a file or module it has loaded
        load_plugin(spec)


__all__ = ["dask_client", "load_plugins", "check_address", "check_dask_options", "check_local_workers"]


def completed(futures, what: str, prefix: str) -> Iterator[tuple[str, Any]]:
    """``(name, result)`` of each of ``futures`` (dask futures keyed ``prefix + name``) as it completes,
    each released once read. A failure on a worker is one :class:`ArchsimError` naming ``what`` and the
    name (an archsim error's own message kept, any other exception by its type and message)."""
    from dask.distributed import as_completed

    pending = as_completed(futures)
    del futures  # the iterator holds each future until it is done; then it is released
    for fut in pending:
        name = str(fut.key).removeprefix(prefix)
        try:
            result = fut.result()
        except ArchsimError as exc:
            raise ArchsimError(f"{what} {name} (on a Dask worker): {exc}") from None
        except Exception as exc:
            raise ArchsimError(f"{what} {name} failed on a Dask worker: {type(exc).__name__}: {exc}") from None
        finally:
            fut.release()
        yield name, result


def check_worker(cache_dir: str, traces: Sequence[str], out_dir: str | None = None) -> str | None:
    """Run on every Dask worker before the work (a sweep's points, a sharded run's line ranges): can it
    read the traces and use the trace cache, and write ``out_dir`` (if the workers write there)? A
    cluster's workers need the same paths as the client (a shared filesystem). Returns what is wrong,
    in one line, or None."""
    import os
    import socket

    where = f"Dask worker on {socket.gethostname()}"
    if out_dir is not None:
        probe = Path(out_dir) / f".probe-{socket.gethostname()}-{os.getpid()}"
        try:
            probe.write_text("", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            return (f"{where}: cannot write the folder {out_dir} ({exc.strerror or exc}); the workers need the "
                    "client's paths: run them on a shared filesystem")
    for trace in traces:
        if not Path(trace).exists():
            return f"{where}: cannot see the trace {trace}; the workers need the client's paths (a shared filesystem)"
    cache = Path(cache_dir)
    if cache.exists() and not os.access(cache, os.R_OK | os.W_OK):
        return f"{where}: cannot use the trace cache {cache}; give --cache-dir a folder the workers share"
    return None
