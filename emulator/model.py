"""The firmware, step by step, in integers: words -> scaling -> dense layers -> mu -> sum(mu^2) -> trigger bits.

It reads the design file and nothing of the generators. Two paths: `run_full` does every cast of the design
in int64, in hls4ml's order of additions; `run` takes a float fast path only where interval analysis over
the design proves it equal (see _FastPath), and the full path otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.fixed import FAST_ROUNDING, cast, overflow, round_scaled, shift_raw, tree_sum
from trigger.design import Design, DesignError, load_design
from trigger.fixed import Overflow


class EmulatorError(ValueError):
    pass


def _interval_box(lo, hi, w, b):
    """Least and greatest x @ w + b over lo <= x <= hi, per output column (float64, exact below 2^53)."""
    wp, wn = np.maximum(w, 0), np.minimum(w, 0)
    return lo @ wp + hi @ wn + b, hi @ wp + lo @ wn + b


class LayerPlan:
    """One dense layer's arithmetic, with the proofs that decide how much of it must be done cast by cast."""

    def __init__(self, L, x_frac: int, x_lo: np.ndarray, x_hi: np.ndarray):
        self.L = L
        self.x_frac = x_frac
        acc = L.accum_type
        self.pf = x_frac + L.weight_type.frac  # the product's LSB, before its cast to the accumulator
        w = L.weight.astype(np.float64)
        # every product's range, and whether the cast of each product / of the bias to accum_t is exact
        p_lo = np.minimum(x_lo[:, None] * w, x_hi[:, None] * w)
        p_hi = np.maximum(x_lo[:, None] * w, x_hi[:, None] * w)
        sh = acc.frac - self.pf
        b_sh = acc.frac - L.bias_type.frac
        exact_products = sh >= 0 and (p_lo * 2.0**sh >= acc.int_min).all() and (p_hi * 2.0**sh <= acc.int_max).all()
        exact_bias = b_sh >= 0 and ((L.bias * 2.0**b_sh >= acc.int_min) & (L.bias * 2.0**b_sh <= acc.int_max)).all()
        # every partial sum (bias first, then inputs in order) lies between the bias plus all negative extremes
        # and the bias plus all positive ones: inside accum_t, no addition overflows
        b0 = L.bias * 2.0 ** max(b_sh, 0)
        lo_sum = b0 + (np.minimum(p_lo, 0) * 2.0 ** max(sh, 0)).sum(axis=0)
        hi_sum = b0 + (np.maximum(p_hi, 0) * 2.0 ** max(sh, 0)).sum(axis=0)
        no_acc_overflow = (lo_sum >= acc.int_min).all() and (hi_sum <= acc.int_max).all()
        # sum all at once when each term is exact and the additions either never overflow or wrap (order-free)
        self.summed = exact_products and exact_bias and (no_acc_overflow or acc.overflow is Overflow.WRAP)
        self.acc_never_overflows = exact_products and exact_bias and no_acc_overflow
        self.acc_lo, self.acc_hi = lo_sum, hi_sum
        self.w_acc = (L.weight << max(sh, 0)) if self.summed else None
        self.b_acc = (L.bias << max(b_sh, 0)) if exact_bias else None
        self.bound = float(np.maximum(np.abs(lo_sum), np.abs(hi_sum)).max(initial=0))

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        """accum_t values of every output, raw at accum_t's LSB."""
        L, acc = self.L, self.L.accum_type
        if self.summed:
            if self.bound < 2**52:  # float64 BLAS is exact below 2^53
                s = (x.astype(np.float64) @ self.w_acc.astype(np.float64)).astype(np.int64)
            else:
                s = x @ self.w_acc
            s += self.b_acc
            return s if self.acc_never_overflows else overflow(s, acc)
        # cast by cast: each product to accum_t, the bias to accum_t, then inputs in order, every sum cast
        total = cast(L.bias, L.bias_type.frac, acc)[None, :].repeat(len(x), axis=0)
        for i in range(L.n_in):
            p = cast(x[:, i : i + 1] * L.weight[i][None, :], self.pf, acc)
            total = overflow(total + p, acc)
        return total

    def run(self, x: np.ndarray) -> np.ndarray:
        L = self.L
        y = cast(self.accumulate(x), L.accum_type.frac, L.result_type)
        if L.activation == "relu":
            y = np.maximum(y, 0)
        return cast(y, L.result_type.frac, L.activation_type)


class Emulator:
    CHUNK = 8192  # events per block on the fast path (cache-sized; measured best here)
    CHUNK_FULL = 1024  # the full path forms (events, inputs, outputs) products in some layers

    def __init__(self, design: Design):
        self.design = d = design
        self.n_inputs = d.n_inputs
        self.word_min, self.word_max = d.word_min, d.word_max
        self.word_frac = np.array([i.type.frac for i in d.inputs], dtype=np.int64)
        s = d.scaling
        self.diff_frac = np.maximum(self.word_frac, s.offset_type.frac)
        self.input_type = s.output
        self.layers = d.layers
        self.mu_type = d.mu_type
        self.score_type = d.score.sum_type
        self.thresholds = d.threshold_raw()
        self.threshold_names = [t.name for t in d.thresholds]
        self.rates_khz = [t.rate_khz for t in d.thresholds]
        lo = np.full(d.n_inputs, float(s.output.int_min))
        hi = np.full(d.n_inputs, float(s.output.int_max))
        self.plans, frac = [], s.output.frac
        for L in d.layers:
            plan = LayerPlan(L, frac, lo, hi)
            self.plans.append(plan)
            # the next layer's inputs: the activation type's range; a ReLU whose cast cannot wrap gives no negatives
            t = L.activation_type
            relu_floor = L.activation == "relu" and (t.overflow is not Overflow.WRAP or not t.signed)
            lo = np.full(L.n_out, float(max(t.int_min, 0) if relu_floor else t.int_min))
            hi = np.full(L.n_out, float(t.int_max))
            frac = t.frac
        self.fast = _FastPath.plan(self)  # None where interval analysis cannot prove it equal to the full path

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

    # ------------------------------------------------------------------ the full path: every cast
    def _scaled(self, words: np.ndarray) -> np.ndarray:
        s = self.design.scaling
        f = self.diff_frac
        diff = (words << (f - self.word_frac)) - (s.offset << (f - s.offset_type.frac))
        mid = cast(diff, f, s.intermediate)
        return cast(shift_raw(mid, s.shift, s.intermediate), s.intermediate.frac, s.output)

    def scaled_input(self, words: np.ndarray) -> np.ndarray:
        return self._scaled(self.check_words(words))

    def _mu(self, words: np.ndarray) -> np.ndarray:
        x = self._scaled(words)
        for plan in self.plans:
            x = plan.run(x)
        return x

    def mu(self, words: np.ndarray) -> np.ndarray:
        return self._mu(self.check_words(words))

    def score_bits(self, mu: np.ndarray):
        sq_t, sum_t = self.design.score.square_type, self.score_type
        sq = cast(mu * mu, 2 * self.mu_type.frac, sq_t)
        terms = cast(sq, sq_t.frac, sum_t)
        score = tree_sum([terms[:, j] for j in range(terms.shape[1])], sum_t)
        return mu, score, (score[:, None] >= self.thresholds[None, :]).astype(np.int64)

    def run_full(self, words: np.ndarray):
        """run() through every cast the design makes, never the fast path: the reference the fast path is tested against."""
        # each block is checked (and widened to int64) on its own: no int64 copy of every word
        return self._blocks(self._check_array(words), lambda b, i: self.score_bits(self._mu(self.check_words(b, first_event=i))),
                            self.CHUNK_FULL)

    # ------------------------------------------------------------------ run
    def run(self, words: np.ndarray):
        """(mu, score, bits) as int64 raw values of their types; bits is (N, n_thresholds) of 0/1."""
        if self.fast is None:
            return self.run_full(words)
        words = self._check_array(words)  # the fast path checks each block's range itself

        def block(b, first):
            m = self.fast.mu(b)
            if m is None:
                self.check_words(b, first_event=first)  # raises, naming the word
            return self.fast.score_bits(m, self)

        return self._blocks(words, block, self.CHUNK)

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


class _FastPath:
    """The same arithmetic with the casts that interval analysis proves to be no-ops left out.

    Applies where: the scaling is exact until its one output cast (SAT, a rounding float can do); every
    layer's products, bias and partial sums are exact in accum_t (no overflow), the result cast is exact, and
    the activation cast saturates with such a rounding. The shift to each activation's LSB is folded into the
    weights (a power of two: exact); ReLU and saturation become one clip. Float32 where every partial sum,
    counted in LSBs, stays below 2^23 (exact in any order), else float64. The score takes the full path's
    casts unless both are provably the identity.
    """

    def __init__(self, emu: Emulator, dtype, layers: list[tuple], in_scale, in_offset, exact_score: bool):
        self.dtype = dtype
        self.in_scale = in_scale.astype(dtype)
        self.in_offset = in_offset.astype(dtype)
        t_in = emu.input_type
        self.in_round = t_in.rounding
        self.in_lo, self.in_hi = dtype(t_in.int_min), dtype(t_in.int_max)
        # (word - word_min) / 2^width maps each field onto [0, 1) exactly: one min and one max check a block
        span = (emu.word_max - emu.word_min + 1).astype(np.float64)
        self.unit_scale = (1.0 / span).astype(dtype)
        self.unit_offset = (emu.word_min / span).astype(dtype)
        self.layers = layers
        self.ones = np.ones(emu.latent)
        self.exact_score = exact_score
        self.thresholds = emu.thresholds.astype(np.float64)

    @classmethod
    def plan(cls, emu: Emulator, dtype=None) -> "_FastPath | None":
        """The fast path for this design, or None where it cannot be proven equal; `dtype` forces float32/64."""
        d = emu.design
        s, t_in = d.scaling, d.scaling.output
        if t_in.overflow is not Overflow.SAT or t_in.rounding not in FAST_ROUNDING or (s.shift < 0).any():
            return None
        # the intermediate must hold (word - offset) >> shift exactly: enough fraction bits, no wrap
        mid = s.intermediate
        if mid.frac < (emu.diff_frac + s.shift).max():
            return None
        off = s.offset * 2.0 ** -s.offset_type.frac
        w_lo, w_hi = emu.word_min * 2.0 ** -emu.word_frac, emu.word_max * 2.0 ** -emu.word_frac
        if (w_lo - off < mid.min_value).any() or (w_hi - off > mid.max_value).any():
            return None
        # x = round((word * 2^-wf - offset) * 2^(frac - shift)): the scale and offset are exact powers of two
        in_scale = np.exp2(t_in.frac - s.shift - emu.word_frac.astype(np.float64))
        in_offset = off * np.exp2(t_in.frac - s.shift.astype(np.float64))
        # (word - offset) counted in LSBs of their common fraction: what float must hold exactly
        f = emu.diff_frac
        limit = float((np.maximum(np.abs(emu.word_min), np.abs(emu.word_max)) * 2.0 ** (f - emu.word_frac)
                       + np.abs(s.offset) * 2.0 ** (f - s.offset_type.frac)).max())
        layers = []
        for plan in emu.plans:
            L, res, act = plan.L, plan.L.result_type, plan.L.activation_type
            exact_result = res.frac >= L.accum_type.frac and (plan.acc_lo * 2.0 ** (res.frac - L.accum_type.frac) >= res.int_min).all() \
                and (plan.acc_hi * 2.0 ** (res.frac - L.accum_type.frac) <= res.int_max).all()
            if not (plan.acc_never_overflows and exact_result) or act.overflow is not Overflow.SAT or act.rounding not in FAST_ROUNDING:
                return None
            limit = max(limit, plan.bound)
            scale = 2.0 ** (act.frac - plan.pf)
            floor = max(act.int_min, 0) if L.activation == "relu" else act.int_min  # SAT: the cast cannot wrap
            layers.append((L.weight * scale, L.bias * 2.0 ** (act.frac - L.bias_type.frac), act.rounding, floor, act.int_max))
        if limit >= 2**50 or (dtype is np.float32 and limit >= 2**23):
            return None
        dtype = dtype or (np.float32 if limit < 2**23 else np.float64)
        # sum(mu^2): both casts the identity (same LSB, no value past the type), exact in float64
        sq, sc, mf = d.score.square_type, d.score.sum_type, d.mu_type.frac
        last = layers[-1]
        top = max(float(last[3]) ** 2, float(last[4]) ** 2)
        exact_score = sq.frac == 2 * mf and top <= sq.int_max and sc.frac == sq.frac and top * d.latent <= sc.int_max
        return cls(emu, dtype, [(w.astype(dtype), b.astype(dtype), r, dtype(lo), dtype(hi)) for w, b, r, lo, hi in layers],
                   in_scale, in_offset, exact_score)

    def mu(self, words: np.ndarray) -> np.ndarray | None:
        """mu of one block, or None if some word does not fit its type."""
        x = words.astype(self.dtype)  # exact for words below 2^23; larger ones fail the check as they round
        y = x * self.unit_scale
        y -= self.unit_offset
        if len(y) and (y.min() < 0 or y.max() >= 1):
            return None
        x *= self.in_scale
        x -= self.in_offset
        round_scaled(x, self.in_round)
        np.maximum(x, self.in_lo, out=x)
        np.minimum(x, self.in_hi, out=x)
        for w, b, rounding, lo, hi in self.layers:
            x = x @ w
            x += b
            round_scaled(x, rounding)
            np.maximum(x, lo, out=x)
            np.minimum(x, hi, out=x)
        return x

    def score_bits(self, mu: np.ndarray, emu: Emulator):
        m = mu.astype(np.int64)
        if not self.exact_score:
            return emu.score_bits(m)
        f = mu.astype(np.float64)
        f *= f
        score = f @ self.ones  # a BLAS product sums a few numbers far faster than .sum(axis=1)
        return m, score.astype(np.int64), (score[:, None] >= self.thresholds).astype(np.int64)
