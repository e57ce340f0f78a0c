# The per-write outcome counters the kernels fill, one table per technology: row ``outcome[t, line, :]``
# of a chunk holds these fields. The kernels cimport this file; each kernel module exports the
# names to Python as ``OUTCOME_FIELDS`` (from the ``*_outcome_names`` functions below, which pair each
# name with its constant here), so the Python side never writes an index by hand.

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


cdef inline tuple pcm_outcome_names():
    names = [""] * PCM_FIELDS
    names[O_WS] = "write_set"
    names[O_WR] = "write_reset"
    names[O_RS] = "refresh_set"
    names[O_RR] = "refresh_reset"
    names[O_NREF] = "refreshes"
    return tuple(names)


cdef inline tuple racetrack_outcome_names():
    names = [""] * NFIELDS
    names[F_INS] = "insertions"
    names[F_REM] = "removals"
    names[F_DET] = "detects"
    names[F_SHIFT] = "shifts"
    names[F_PINS] = "path_insertions"
    names[F_PREM] = "path_removals"
    names[F_PDET] = "path_detects"
    return tuple(names)
