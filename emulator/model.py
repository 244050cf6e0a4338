"""The firmware, node by node: words -> scaling -> the design's graph -> score -> trigger bits.

It reads the design file and nothing of the generators. Values are raw integers (counts of their type's
LSB). Two paths share one set of node rules (emulator/nodes.py):
- `run_full`: every cast in int64, in hls4ml's order of additions (the reference);
- `run`: the same rules on float arrays holding those integers, taken where every raw value a node forms is
  provably below 2^23 (float32) or 2^52 (float64), so each float operation is exact; casts that interval
  analysis proves cannot overflow are left out. A node too wide for float runs in int64 inside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.fixed import shift_raw
from emulator.nodes import IntOps, NodeRunner
from trigger.design import Design, DesignError, load_design
from trigger.design.intervals import analyse


class EmulatorError(ValueError):
    pass


class Emulator:
    CHUNK = 8192  # events per block on the float path (cache-sized)
    TABLE_MAX = 1 << 22  # the float path's scaling is a per-input lookup table while all tables hold this many entries
    CHUNK_FULL = 1024  # the int path forms (events, inputs, outputs) products in some nodes

    def __init__(self, design: Design, fast: bool = True):
        self.design = d = design
        self.n_inputs = d.n_inputs
        self.word_min, self.word_max = d.word_min, d.word_max
        self.word_frac = np.array([i.type.frac for i in d.inputs], dtype=np.int64)
        s = d.scaling
        self.diff_frac = np.maximum(self.word_frac, s.offset_type.frac)
        self.input_type = s.output
        self.mu_type = d.mu_type
        self.score_type = d.score_type
        self.thresholds = d.threshold_raw()
        self.threshold_names = [t.name for t in d.thresholds]
        self.rates_khz = [t.rate_khz for t in d.thresholds]
        self.analysis = analyse(d)
        self.full = NodeRunner(d, self.analysis, IntOps())
        self.fast = NodeRunner.float_runner(d, self.analysis) if fast else None  # None: no float dtype is exact
        self._table = self._scaling_table() if self.fast is not None else None
        self._identity = self._table is not None and self._table_is_identity()  # CICADA's scaling: no gather

    @classmethod
    def load(cls, build: str | Path) -> "Emulator":
        try:
            return cls(load_design(build))
        except DesignError as exc:
            raise EmulatorError(str(exc)) from None

    @property
    def latent(self) -> int:
        return self.design.latent

    def _check_array(self, words: np.ndarray) -> np.ndarray:
        w = np.asarray(words)
        if w.ndim != 2 or w.shape[1] != self.n_inputs:
            raise EmulatorError(f"expected an (N, {self.n_inputs}) array of words, got shape {w.shape}")
        if not np.issubdtype(w.dtype, np.integer):
            raise EmulatorError(f"words must be integers, got {w.dtype}")
        return w

    def check_words(self, words: np.ndarray, first_event: int = 0) -> np.ndarray:
        """The words as int64; an EmulatorError naming the first word that does not fit its type."""
        w = self._check_array(words).astype(np.int64, copy=False)
        if len(w) and (w.min(axis=0) >= self.word_min).all() and (w.max(axis=0) <= self.word_max).all():
            return w
        bad = (w < self.word_min) | (w > self.word_max)
        if bad.any():
            ev, col = np.argwhere(bad)[0]
            i = self.design.inputs[col]
            raise EmulatorError(f"word {i.name} of event {first_event + ev} = {w[ev, col]} does not fit {i.type.hls()} "
                                f"(raw {i.type.int_min}..{i.type.int_max})")
        return w

    # ------------------------------------------------------------------ scaling, in int64 (exact for any width)
    def _scaled(self, words: np.ndarray) -> np.ndarray:
        from emulator.fixed import cast

        s = self.design.scaling
        f = self.diff_frac
        diff = (words << (f - self.word_frac)) - (s.offset << (f - s.offset_type.frac))
        mid = cast(diff, f, s.intermediate)
        return cast(shift_raw(mid, s.shift, s.intermediate), s.intermediate.frac, s.output)

    def _scaling_table(self):
        """Every input's scaled value for every word it can hold, from the int64 scaling above: the float path
        then scales by one gather. None where the words are too wide for tables. Built in blocks of rows, so a
        single wide input does not make a (span, n_inputs) grid."""
        span = (self.word_max - self.word_min + 1).astype(np.int64)
        if int(span.sum()) > self.TABLE_MAX:
            return None
        first = next(n for n in self.design.nodes if "input" in n.inputs)
        dtype = getattr(self.fast.node_ops[first.name], "dtype", np.int64)  # held as the first node reads it
        start = np.concatenate([[0], np.cumsum(span)[:-1]]).astype(np.int64)
        flat = np.empty(int(span.sum()), dtype=dtype)
        block = 1 << 16
        for r0 in range(0, int(span.max()), block):
            rows = np.arange(r0, min(r0 + block, int(span.max())), dtype=np.int64)
            vals = self._scaled(np.minimum(self.word_min[None, :] + rows[:, None], self.word_max[None, :]).astype(np.int64))
            for i in range(self.n_inputs):
                k = rows[rows < span[i]]
                flat[start[i] + k] = vals[: len(k), i]
        return flat, start - self.word_min

    def _scaled_fast(self, words: np.ndarray) -> np.ndarray:
        if self._table is None:
            return self._scaled(words)
        flat, start = self._table
        if self._identity:
            return words.astype(flat.dtype)
        return flat[words + start]

    def _table_is_identity(self) -> bool:
        """Whether the scaling gives every word back unchanged."""
        flat, _ = self._table
        return bool(np.array_equal(flat, np.concatenate([np.arange(lo, hi + 1) for lo, hi in zip(self.word_min, self.word_max)])))

    def scaled_input(self, words: np.ndarray) -> np.ndarray:
        return self._scaled(self.check_words(words))

    # ------------------------------------------------------------------ the graph
    def nodes(self, words: np.ndarray, names: list[str], full: bool = False) -> dict[str, np.ndarray]:
        """Raw int64 values of the named tensors (`input` is the scaled input) for every event."""
        runner = self.full if full or self.fast is None else self.fast
        words = self.check_words(words)
        unknown = [n for n in names if n != "input" and n not in {x.name for x in self.design.nodes}]
        if unknown:
            raise EmulatorError(f"no tensor named {', '.join(map(repr, unknown))} in design {self.design.name!r} "
                                f"(tensors: input, {', '.join(n.name for n in self.design.nodes)})")
        out = {n: [] for n in names}
        chunk = self.CHUNK_FULL if runner is self.full else self.CHUNK
        for i in range(0, len(words), chunk):
            vals = runner.run(self._scaled(words[i : i + chunk]), keep=set(names))
            for n in names:
                out[n].append(runner.to_int(vals[n]))
        return {n: np.concatenate(v) if v else np.zeros((0, self.design.tensor_size(n)), np.int64) for n, v in out.items()}

    def _outputs(self, runner, words, first: int):
        d = self.design
        w = self.check_words(words, first_event=first)
        vals = runner.run(self._scaled_fast(w) if runner is self.fast else self._scaled(w), keep={d.exposed, d.score_node.name})
        mu = runner.to_int(vals[d.exposed])
        score = runner.to_int(vals[d.score_node.name])[:, 0]
        return mu, score, (score[:, None] >= self.thresholds[None, :]).astype(np.int64)

    def run_full(self, words: np.ndarray):
        """run() through the int64 rules, never the float path: the reference the float path is tested against."""
        return self._blocks(self._check_array(words), lambda b, i: self._outputs(self.full, b, i), self.CHUNK_FULL)

    def run(self, words: np.ndarray):
        """(mu, score, bits) as int64 raw values of their types; mu is the exposed tensor (format 1: mu);
        bits is (N, n_thresholds) of 0/1."""
        if self.fast is None:
            return self.run_full(words)
        return self._blocks(self._check_array(words), lambda b, i: self._outputs(self.fast, b, i), self.CHUNK)

    def mu(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[0]

    def _blocks(self, words, fn, chunk):
        n = len(words)
        mu = np.empty((n, self.latent), dtype=np.int64)
        score = np.empty(n, dtype=np.int64)
        bits = np.empty((n, len(self.thresholds)), dtype=np.int64)
        for i in range(0, n, chunk):
            b = words[i : i + chunk]
            m, s, t = fn(b, i)
            mu[i : i + len(b)], score[i : i + len(b)], bits[i : i + len(b)] = m, s, t
        return mu, score, bits

    def score(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[1]

    def trigger(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[2]
