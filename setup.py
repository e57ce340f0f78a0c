"""Build the Cython kernels of archsim.

The ``.pyx`` sources live in ``cython_kernels/`` and are compiled into private
extension modules of the ``archsim`` package (``archsim._pcm_kernels`` ...).
Compiler directives are set once here, not per file.
"""
import os
import platform
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = {
    # module name inside archsim  ->  source in cython_kernels/
    "archsim._pcm_kernels": "cython_kernels/_pcm_kernels.pyx",
    "archsim._dap_kernels": "cython_kernels/_dap_kernels.pyx",
    "archsim._racetrack_kernels": "cython_kernels/_racetrack_kernels.pyx",
    "archsim._timing_kernel": "cython_kernels/_timing_kernel.pyx",
    "archsim._analog_kernels": "cython_kernels/_analog_kernels.pyx",
    "archsim._wear_kernels": "cython_kernels/_wear_kernels.pyx",
    "archsim._workload_kernels": "cython_kernels/_workload_kernels.pyx",
}

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}

# popcount is the kernels' inner operation: without -mpopcnt gcc calls a software routine
COMPILE_ARGS = ["-O3"]
# per kernel: the analog kernel reproduces numpy's floating-point results bit for bit, so no fused
# multiply-add (gcc contracts a * b + c when the target has FMA, e.g. under CFLAGS=-march=native)
EXTRA_ARGS = {"archsim._analog_kernels": ["-ffp-contract=off"],
              # the synthetic generator's step reproduces numpy's float32 arithmetic the same way
              "archsim._workload_kernels": ["-ffp-contract=off"]}
if platform.system() == "Linux":  # gcc: the channel kernel's issue, completion, arbitration and search for the
    # oldest available request inlined into its event loop (their prologues were 15% of a completion's
    # instructions; callgrind: -11% to -15% of the kernel's, docs/performance.md)
    EXTRA_ARGS["archsim._timing_kernel"] = ["--param", "max-inline-insns-single=2000",
                                            "--param", "large-function-growth=2000",
                                            "--param", "inline-unit-growth=200"]
if platform.machine().lower() in ("x86_64", "amd64"):
    COMPILE_ARGS.append("-mpopcnt")
    # rint/trunc/floor as single instructions (SSE4.1) instead of libm calls; numpy 2's x86-64 builds
    # require x86-64-v2 (SSE4.2, POPCNT) already
    EXTRA_ARGS["archsim._analog_kernels"].append("-msse4.2")

extensions = [
    Extension(
        name,
        [src],
        include_dirs=[np.get_include(), "cython_kernels"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS + EXTRA_ARGS.get(name, []),
    )
    for name, src in KERNELS.items()
    if Path(src).exists()
]

# cython_kernels/_bits.pxd (+ archsim_bits.h): the bit primitives every kernel cimports
# cython_kernels/_timing_layout.pxd: the timing statistics layout, cimported by _timing_kernel.pyx
# (cythonize follows cimports: editing a .pxd recompiles the kernels that use it)
# both stages in parallel on the CPUs this process may use: Cython per kernel, then gcc per extension
JOBS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, include_path=["cython_kernels"],
                            nthreads=JOBS if JOBS > 1 else 0),
      options={"build_ext": {"parallel": JOBS}})
