# The per-write outcome counters the kernels fill, one table per technology: row ``outcome[t, line, :]``
# of a chunk holds these fields. The kernels cimport this file; each kernel module exports the
# names to Python as ``OUTCOME_FIELDS`` (built from these constants, see ``outcome_names``), so the
# Python side never writes an index by hand.

# PCM (``archsim.pcm``): cells the write SET and RESET, cells its refresh SET and RESET, refresh units.
cdef enum:
    O_WS = 0
    O_WR = 1
    O_RS = 2
    O_RR = 3
    O_NREF = 4
    PCM_FIELDS = 5

# Racetrack (``archsim.racetrack``): insertions, removals, detects, cluster shift steps, and the port
# operations on the write's critical path.
cdef enum:
    F_INS = 0
    F_REM = 1
    F_DET = 2
    F_SHIFT = 3
    F_PINS = 4
    F_PREM = 5
    F_PDET = 6
    NFIELDS = 7
