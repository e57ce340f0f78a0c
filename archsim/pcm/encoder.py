"""The PCM write-scheme interface and its registry.

An :class:`Encoder` is a state machine over the cells of memory lines. The
contract is one method, :meth:`Encoder.encode`: given a chunk of writes
``writes[t, line, word]`` and the lines' state, program the cells, and report
per write (t, line) how many cells the write SET and RESET, how many its
refresh SET and RESET, and how many refresh units it refreshed (the
``outcome`` array, fields :data:`OUTCOME_FIELDS`); add every programmed cell
to ``wear[line, word, cell]`` (at once, or held in the state until
:meth:`Encoder.flush_wear`); and, when asked, fill ``stored[t, line, word]``
with what a read returns right after the write.

Everything else (energy, latency, lifetime, silent writes, per-chunk
streaming) is computed from those outcomes by :mod:`archsim.pcm.stream` and
:mod:`archsim.pcm.costs`, once for every scheme.
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

from archsim import _pcm_kernels as _kernels
from archsim.config import build_dataclass
from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry

if TYPE_CHECKING:
    from archsim.pcm.config import PcmConfig
    from archsim.pcm.polarity import PingPongPolicy
    from archsim.pcm.stream import ReplayResult

#: Fields of the per-write outcome array, in order (from the kernels' ``_outcome.pxd``).
OUTCOME_FIELDS: tuple[str, ...] = _kernels.OUTCOME_FIELDS
WS, WR, RS, RR, NREF = (OUTCOME_FIELDS.index(f) for f in
                        ("write_set", "write_reset", "refresh_set", "refresh_reset", "refreshes"))

WORD_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
FLOAT_DTYPES = {16: np.float16, 32: np.float32, 64: np.float64}


@dataclass(frozen=True)
class SchemeParams(NoParams):
    """Base of a scheme's parameters (a frozen dataclass); a scheme without any uses it as is."""

    def check(self, where: str, word_bits: int) -> None:
        """Checks of the values, which may depend on the word width (the scheme's ``word_bits``); raise
        :class:`~archsim.errors.ConfigError` naming ``where.field``."""


class Encoder(ABC):
    """A PCM write scheme. Subclass, declare ``Params``, implement the three methods below.

    Register with ``@PCM_SCHEMES.register("name")``. The constructor takes the
    word width (bits), the refresh unit ("line" or "word") and the scheme's own
    parameters (fields of its ``Params`` dataclass), validated here so that a
    bad value is one clear error naming the parameter.
    """

    name: ClassVar[str] = "?"
    Params: ClassVar[type] = SchemeParams
    #: Whether the scheme must read a line's old contents before writing it
    #: (charged when ``PcmConfig.read_before_write`` is on).
    needs_read: ClassVar[bool] = True
    #: Whether a read right after a write returns exactly the written value.
    exact: ClassVar[bool] = True
    #: Whether the cells change with simulated time between writes (lossy SET decays), so that the
    #: times of the writes (:meth:`set_write_times`) change the outcomes.
    time_dependent: ClassVar[bool] = False
    #: The ping-pong policy of a scheme with line polarity (AppWOM, WOM-SET), which the timing
    #: model's region manager follows; None for the others.
    policy: "PingPongPolicy | None" = None
    #: The most a cell's figure in the wear array (and in :meth:`total_wear`) can grow per write of
    #: its line, flips: 2 for a scheme that programs a cell and refreshes it back in one write, 1
    #: without a refresh. With a bound the stream keeps the wear in uint32 and widens it to uint64
    #: before the writes fed could take a cell past 2**32 - 1 (:class:`~archsim.pcm.stream.EncoderStream`);
    #: None (the default for a new scheme, whose bound is not known): uint64 from the start.
    cell_flips_per_write: ClassVar[int | None] = None
    #: Whether :meth:`encode` writes every field of every outcome row itself (the built-in kernels do), so
    #: that the stream hands it the previous chunk's outcome array without clearing it first. False by
    #: default: the array is zeroed and ``encode`` may add to it. It holds for the ``encode`` of the class that
    #: states it: a subclass whose ``encode`` comes from a class that does not state it (its own, a mixin's)
    #: gets False unless it states it itself.
    fills_outcome: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "fills_outcome" not in cls.__dict__:
            owner = next(k for k in cls.__mro__ if "encode" in k.__dict__)
            cls.fills_outcome = bool(owner.__dict__.get("fills_outcome", False))
        if not (isinstance(cls.Params, type) and issubclass(cls.Params, SchemeParams)):
            raise TypeError(f"PCM scheme {cls.__name__}: its Params must be a frozen dataclass subclassing "
                            "archsim.pcm.SchemeParams")

    def __init__(self, *, word_bits: int = 32, refresh_unit: str = "line", **params: Any) -> None:
        if word_bits not in WORD_DTYPES:
            raise ConfigError(f"scheme {self.name}: word_bits must be 8, 16, 32 or 64, not {word_bits!r}")
        if refresh_unit not in ("line", "word"):
            raise ConfigError(f"scheme {self.name}: refresh_unit must be 'line' or 'word', not {refresh_unit!r}")
        self.word_bits = word_bits
        self.refresh_unit = refresh_unit
        self.params = self.check_params(params, where=f"scheme {self.name}", word_bits=word_bits)

    @classmethod
    def check_params(cls, params: Mapping[str, Any], *, where: str, word_bits: int = 32):
        """Validate the scheme's own parameters; returns the ``Params`` instance."""
        p = build_dataclass(cls.Params, dict(params), where)
        p.check(where, word_bits)
        return p

    @property
    def word_dtype(self) -> np.dtype:
        return np.dtype(WORD_DTYPES[self.word_bits])

    @property
    @abstractmethod
    def cells_per_word(self) -> int:
        """Cells one data word occupies (32 raw, 33 with a Flip-N-Write flag, 48 for WOM codes)."""

    def cell_labels(self) -> list[str]:
        """A name for each cell position of a word, in wear order."""
        return [f"c{i}" for i in range(self.cells_per_word)]

    @abstractmethod
    def new_state(self, lines: int, words: int, line_offset: int = 0) -> Any:
        """Fresh state of ``lines`` lines of ``words`` words; ``line_offset`` is the global
        index of the first line (region policies depend on it)."""

    @abstractmethod
    def encode(self, state: Any, writes: np.ndarray, outcome: np.ndarray, wear: np.ndarray,
               stored: np.ndarray | None) -> None:
        """Program a chunk of writes; see the module docstring for the contract.

        ``writes``: (T, lines, words) of the word dtype, C-contiguous.
        ``outcome``: (T, lines, 5) uint32, to fill. ``wear``: (lines, words,
        cells) uint32 or uint64 (uint64 unless the scheme declares
        :attr:`cell_flips_per_write`), to add to. ``stored``: (T, lines, words) or None.
        """

    def flush_wear(self, state: Any, wear: np.ndarray, lines=None) -> None:
        """Hook: add the wear :meth:`encode` counted but still holds in ``state`` into ``wear``, for ``lines``
        (None: all; a slice or an index array), before it is read. The built-in kernels keep their counters
        between calls and drain them here (:class:`archsim.pcm.lanes.PendingWear`); default: nothing held."""

    def total_wear(self, state: Any, wear: np.ndarray) -> np.ndarray:
        """Flips per cell so far, from the ``wear`` array :meth:`encode` adds to and the state.

        Schemes that count every flip as it happens return ``wear`` itself;
        a scheme may instead defer counting (the WOM codes count whole
        refresh cycles) and complete the figure here.
        """
        return wear

    def lines_wear(self, state: Any, wear: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """:meth:`total_wear` of ``lines`` (an index array or a slice) only, (n, words, cells); a scheme whose total is
        costly to build (the WOM codes) computes only these lines."""
        return self.total_wear(state, wear)[lines]

    def cell_states(self, state: Any, lines: np.ndarray) -> np.ndarray:
        """The physical values (0/1) of the cells of ``lines`` (an index array or a slice) now, (n, words * cells) uint8,
        word after word, a word's cells in wear order. Wear levelling prices a line's copy with them."""
        raise ConfigError(f"scheme {self.name!r} does not expose its cells; wear levelling needs them "
                          "(wear_leveling = \"none\")")

    def group_labels(self) -> list[str] | None:
        """Names of the groups of cells the per-bit flips table counts together (WOM codes), or None."""
        return None

    def set_write_times(self, state: Any, times_s) -> None:
        """Hook: simulated time (s) of each write of the next chunk (lossy cells decay in time)."""

    def read_back(self, state: Any, times_s) -> np.ndarray | None:
        """Hook: what reading every line at ``times_s`` returns, when lossy cells may have decayed;
        None (the default): a read returns the stored values."""
        return None

    def set_data_lifetimes(self, state: Any, lifetimes_s: np.ndarray) -> None:
        """Hook: the expected lifetime (s, forward write to last read) of the data on each
        line, (lines,); ``inf`` for data that lives on (weights). The timing model calls it
        for the lines of intermediate data; DAP's layer-aware policy uses it. Default: ignored."""

    def chunk_extras(self, state: Any, outcome: np.ndarray, pcm: "PcmConfig") -> dict[str, np.ndarray]:
        """Hook: per-write figures of the chunk just encoded beyond the five outcome fields,
        as (T, lines) arrays. ``"write_ns"``, if given, is each line write's latency and
        replaces the SET/RESET rule in the timing model (DAP's lossy SETs use it)."""
        return {}

    def adjust_result(self, state: Any, result: "ReplayResult") -> "ReplayResult":
        """Hook: a scheme whose costs are not only SET/RESET flips (DAP's lossy SET) returns a
        corrected result (e.g. a :class:`ReplayResult` subclass); the default returns ``result``."""
        return result

    @classmethod
    def config_defaults(cls, config: Any) -> dict[str, Any]:
        """Hook: parameter defaults taken from the configuration beyond ``[encoding.schemes.<name>]``
        (DAP and PS read the ``[dap]`` section); default none."""
        return {}

    def describe(self) -> dict[str, Any]:
        """The scheme's resolved parameters (for result tables and config dumps)."""
        d = dataclasses.asdict(self.params)
        d.update(word_bits=self.word_bits, refresh_unit=self.refresh_unit)
        return d


#: The PCM write schemes, by name.
PCM_SCHEMES: Registry[type[Encoder]] = Registry("PCM write scheme", Encoder)


def make_encoder(scheme: str, *, word_bits: int = 32, refresh_unit: str = "line", **params: Any) -> Encoder:
    """Build a registered PCM encoder by name with its parameters."""
    cls = PCM_SCHEMES.get(scheme)
    return cls(word_bits=word_bits, refresh_unit=refresh_unit, **params)
