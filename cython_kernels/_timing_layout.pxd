# The layout of the timing model's statistics arrays (archsim.timing.stats), kept here once.
#
# The channel kernel (_timing_kernel.pyx) cimports these constants and indexes its
# statistics with them (compile-time constants, as the DEFs were). The same compiled
# module exports the layout to Python: the field names as tuples ordered by these
# values (REQ_FIELDS, BANK_FIELDS, CHAN_FIELDS, KINDS) and every constant below under
# its own name, and archsim.timing.stats takes its names from there. A field's constant
# is its table's prefix and its Python name in capitals ("refresh_misses" is
# B_REFRESH_MISSES). tests/timing/test_stats_layout.py reads this file and checks the
# compiled module against it.
#
# To add or move a field: change it here and its name in _timing_kernel.pyx (the
# _fields(...) calls next to the cimport), then rebuild. The values of a table number
# its fields 0..n-1; its last member (n) is the size of that axis.

# request kinds: req[bank, kind, :], hist[bank, kind, :]; also the kind of each request of a burst
cdef enum:
    READ = 0
    WRITE = 1
    NKINDS

# per-request fields: req[bank, kind, field] (times in ps)
cdef enum:
    R_COUNT = 0                     # requests completed
    R_LATENCY_PS = 1                # summed latency, enqueue to completion
    R_QUEUE_PS = 2                  # summed queueing delay, enqueue to service start
    R_SERVICE_PS = 3                # summed service time
    R_MAX_PS = 4                    # maximum latency
    R_PORT_WAIT_PS = 5              # summed port wait: time queued while the request's bank / port group was busy
    R_PORT_WAITS = 6                # requests with a port wait > 0
    R_NFIELDS

# per-bank fields: bank[bank, field]
cdef enum:
    B_BUSY_PS = 0                   # demand service + refreshes + the wasted part of cancelled refreshes
    B_REFRESHES_IDLE = 1            # refreshes done in idle time
    B_REFRESH_IDLE_PS = 2           # ... and their time
    B_REFRESH_MISSES = 3            # writes that found their line's refresh pending (done inline)
    B_REFRESH_MISS_PS = 4           # ... and the refresh time they added
    B_REFRESH_CANCELLATIONS = 5     # refreshes cancelled by a demand request
    B_REFRESH_CANCELLED_PS = 6      # ... and the time wasted
    B_SILENT_WRITES = 7             # writes that programmed nothing and paid nothing
    B_ROW_HITS = 8                  # reads served from the bank's open row (row-buffer hits)
    B_WRITE_CANCELLATIONS = 9       # writes cancelled by a read (write-cancel)
    B_WRITE_CANCELLED_PS = 10       # ... the service time they had done (lost, served again)
    B_WRITE_PAUSES = 11             # writes paused at an iteration boundary for a read (write-pause)
    B_WRITEBACKS = 12               # write-back bursts of a dirty row (write-back row buffers)
    B_WRITEBACK_LINES = 13          # ... the buffered writes they programmed
    B_WRITEBACK_PS = 14             # ... and their time (the writes' summed array service)
    B_NFIELDS

# per-channel fields: chan[channel, field]
cdef enum:
    C_STALLED_REQUESTS = 0          # requests that waited at the issue port (back-pressure)
    C_STALL_PS = 1                  # ... the total time they waited
    C_ACCEPTED = 2                  # requests accepted
    C_NFIELDS

# latency histogram: hist[bank, kind, bin]; 1-ns bins below LIN_NS ns, then PER_OCTAVE
# bins per octave for OCTAVES octaves (the last bin takes every longer latency)
cdef enum:
    LIN_NS = 4096
    PER_OCTAVE = 256
    OCTAVES = 40
    NBINS = LIN_NS + PER_OCTAVE * OCTAVES
