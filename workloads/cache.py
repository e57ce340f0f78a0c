"""``make_source``: a trace source for a workload name, recorded once and cached.

A recorded workload is trained once and its trace kept in ``cache_dir`` under a
name derived from a hash of everything that determines its values (workload,
iterations, seed, every, first iteration, resolved knobs, format and recorder
versions); later calls reuse the file if it opens, validates and is complete.
A synthetic workload streams without a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import archsim
from archsim.errors import TraceError
from workloads.meta import FORMAT_VERSION
from workloads.trace_reader import open_trace
from workloads.workload import WORKLOADS

DEFAULT_CACHE_DIR = Path(".archsim-cache") / "traces"


def cache_key(workload: str, *, iterations: int, seed: int, every: int, first_iteration: int,
              knobs: dict[str, Any]) -> str:
    """Hex digest identifying a recording (16 hex digits)."""
    blob = json.dumps({"workload": workload, "iterations": iterations, "seed": seed, "every": every,
                       "first_iteration": first_iteration, "knobs": knobs,
                       "format": FORMAT_VERSION, "recorder": archsim.__version__},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_source(workload_name: str, *, iterations: int, seed: int, cache_dir: str | os.PathLike | None = None,
                every: int = 1, first_iteration: int = 0, progress: bool = False, **knobs: Any):
    """A trace source for ``workload_name`` (see :mod:`workloads.source`).

    Recorded workloads: the cached trace in ``cache_dir`` (default
    ``./.archsim-cache/traces``), recorded first if missing, unfinished or
    invalid. Streaming workloads: the generator itself, no file written.
    """
    wl = WORKLOADS.get(workload_name)()
    if wl.streaming:
        return wl.source(iterations=iterations, seed=seed, every=every,
                         first_iteration=first_iteration, **knobs)
    resolved = wl.resolve_knobs(knobs)
    if "data_dir" in resolved and resolved["data_dir"]:
        resolved["data_dir"] = str(Path(resolved["data_dir"]).expanduser().resolve())
    key = cache_key(workload_name, iterations=iterations, seed=seed, every=every,
                    first_iteration=first_iteration, knobs=resolved)
    root = Path(DEFAULT_CACHE_DIR if cache_dir is None else cache_dir)
    if root.exists() and not root.is_dir():
        raise TraceError(f"trace cache {root}: is a file, not a folder (cache_dir / --cache-dir names the folder "
                         "the recorded traces are kept in)")
    path = root / f"{workload_name}-{key}.trace"
    if path.exists():
        try:
            reader = open_trace(path)
            if reader.meta.complete:
                return reader
        except TraceError:
            pass
        shutil.rmtree(path)  # unfinished or damaged: record again
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TraceError(f"trace cache {root}: cannot create the folder ({exc.strerror or exc}; cache_dir / "
                         "--cache-dir names the folder the recorded traces are kept in)") from None
    tmp = root / f".{path.name}.{os.getpid()}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        try:
            wl.record(tmp, iterations=iterations, seed=seed, every=every, first_iteration=first_iteration,
                      progress=progress, **resolved)
        except TraceError as exc:  # name what the user asked for, not the cache's temporary folder
            label = f"workload {workload_name!r} (recording its trace)"
            raise TraceError(str(exc).replace(f"trace {tmp}", label).replace(str(tmp), label)) from None
        try:
            os.rename(tmp, path)      # atomic: a concurrent recorder's copy wins or ours does
        except OSError:
            if not path.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return open_trace(path)
