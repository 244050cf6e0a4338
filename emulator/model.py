"""The firmware, step by step, in integers: words -> scaling -> dense/ReLU -> mu -> sum(mu^2) -> trigger bits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emulator.fixed import Fx, cast_float, round_scaled

FORMAT = "trigger-firmware/1"


class EmulatorError(ValueError):
    pass


class Emulator:
    def __init__(self, desc: dict):
        if desc.get("format") != FORMAT:
            raise EmulatorError(f"not a firmware description of format {FORMAT!r}")
        self.desc = desc
        ins = desc["inputs"]
        self.n_inputs = len(ins)
        self.offset = np.array([i["offset"] for i in ins], dtype=np.int64)
        self.shift = np.array([i["shift"] for i in ins], dtype=np.int64)
        self.word_min = np.array([-(1 << (i["width"] - 1)) if i["signed"] else 0 for i in ins], dtype=np.int64)
        self.word_max = np.array([(1 << (i["width"] - 1)) - 1 if i["signed"] else (1 << i["width"]) - 1 for i in ins], dtype=np.int64)
        self.input_type = Fx.from_dict(desc["input_type"])
        self.layers = []
        for layer in desc["layers"]:
            self.layers.append(
                {
                    "name": layer["name"],
                    "w": np.array(layer["weight"], dtype=np.float64),  # integers; float64 matmul is exact < 2^53
                    "b": np.array(layer["bias"], dtype=np.int64),
                    "wt": Fx.from_dict(layer["weight_type"]),
                    "bt": Fx.from_dict(layer["bias_type"]),
                    "acc": Fx.from_dict(layer["accum_type"]),
                    "relu": layer["activation"] == "relu",
                    "res": Fx.from_dict(layer["result_type"]),
                }
            )
        self.square_type = Fx.from_dict(desc["square_type"])
        widest = max([self.input_type.width, self.square_type.width + 8] + [L["acc"].width for L in self.layers])
        if widest > 50:
            raise EmulatorError(f"a {widest}-bit type is too wide for the exact float64 path of this emulator")
        self.score_type = Fx.from_dict(desc["score_type"])
        self.thresholds = np.array([t["threshold_int"] for t in desc["thresholds"]], dtype=np.int64)
        self.rates_khz = [t["rate_khz"] for t in desc["thresholds"]]
        self.fast = _FastPath.plan(self)  # None where interval analysis cannot prove it equal to the full path

    @classmethod
    def load(cls, build: str | Path) -> "Emulator":
        path = Path(build)
        if path.is_dir():
            path = path / "firmware.json"
        if not path.is_file():
            raise EmulatorError(f"{path}: firmware description not found (run `trigger firmware` first)")
        return cls(json.loads(path.read_text()))

    @property
    def latent(self) -> int:
        return self.layers[-1]["w"].shape[1]

    def _check_array(self, words: np.ndarray) -> np.ndarray:
        w = np.asarray(words)
        if w.ndim != 2 or w.shape[1] != self.n_inputs:
            raise EmulatorError(f"expected an (N, {self.n_inputs}) array of words, got shape {w.shape}")
        if not np.issubdtype(w.dtype, np.integer):
            raise EmulatorError(f"words must be integers, got {w.dtype}")
        return w

    def check_words(self, words: np.ndarray, first_event: int = 0) -> np.ndarray:
        """The words as int64; an EmulatorError naming the first word that does not fit its field."""
        w = self._check_array(words).astype(np.int64, copy=False)
        if len(w) and (w.min(axis=0) >= self.word_min).all() and (w.max(axis=0) <= self.word_max).all():
            return w
        bad = (w < self.word_min) | (w > self.word_max)
        if bad.any():
            ev, col = np.argwhere(bad)[0]
            raise EmulatorError(f"word {self.desc['inputs'][col]['name']} of event {first_event + ev} = {w[ev, col]} does not fit its field")
        return w

    def scaled_input(self, words: np.ndarray) -> np.ndarray:
        """(word - offset) >> shift, held exactly with `shift` fraction bits, cast to the input type (int64)."""
        return self._scaled(self.check_words(words)).astype(np.int64)

    def _scaled(self, words: np.ndarray) -> np.ndarray:
        # float64 holds every intermediate exactly (integer counts far below 2^52)
        d = words.astype(np.float64)
        d -= self.offset
        return cast_float(d, self.shift, self.input_type, inplace=True)

    def _mu(self, words: np.ndarray) -> np.ndarray:
        x = self._scaled(words)
        frac = self.input_type.frac
        for L in self.layers:
            pf = frac + L["wt"].frac
            af = max(pf, L["bt"].frac)
            acc = x @ L["w"]
            if af != pf:
                acc *= 2.0 ** (af - pf)
            acc += L["b"].astype(np.float64) * 2.0 ** (af - L["bt"].frac)
            cast_float(acc, af, L["acc"], inplace=True)  # exact by construction; wraps as the accumulator would
            if L["relu"]:
                np.maximum(acc, 0.0, out=acc)
            x = cast_float(acc, af, L["res"], inplace=True)
            frac = L["res"].frac
        return x

    def mu(self, words: np.ndarray) -> np.ndarray:
        return self._mu(self.check_words(words)).astype(np.int64)

    CHUNK = 8192  # events per block: keeps every intermediate array in cache (measured best here)

    def run_full(self, words: np.ndarray):
        """run() through every cast the firmware makes, never the fast path: the reference the fast path is tested against."""
        return self._score_bits(self._mu(self.check_words(words)))

    def run(self, words: np.ndarray):
        """(mu, score, bits) as int64 counts of their LSBs; bits is (N, n_rates) of 0/1."""
        if self.fast is None:
            words = self.check_words(words)
        else:
            words = self._check_array(words)  # the fast path checks each block's range itself
        n = len(words)
        mu = np.empty((n, self.latent), dtype=np.int64)
        score = np.empty(n, dtype=np.int64)
        bits = np.empty((n, len(self.thresholds)), dtype=np.int64)
        for i in range(0, n, self.CHUNK):
            block = words[i : i + self.CHUNK]
            if self.fast is None:
                out = self._score_bits(self._mu(block))
            else:
                m = self.fast.mu(block)
                if m is None:
                    self.check_words(block, first_event=i)  # raises, naming the word
                out = self.fast.score_bits(m)
            mu[i : i + len(block)], score[i : i + len(block)], bits[i : i + len(block)] = out
        return mu, score, bits

    def _score_bits(self, mu: np.ndarray):
        mu = mu.astype(np.float64, copy=False)  # sum(mu^2) may need more than float32's 24 bits
        mf = self.layers[-1]["res"].frac
        sq = cast_float(mu * mu, 2 * mf, self.square_type)
        score = cast_float(sq.sum(axis=1), self.square_type.frac, self.score_type)
        bits = (score[:, None] >= self.thresholds[None, :]).astype(np.int64)
        return mu.astype(np.int64), score.astype(np.int64), bits

    def score(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[1]

    def trigger(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[2]


def _box(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least and greatest x @ w + b over every x with lo <= x <= hi, per output column."""
    wp, wn = np.maximum(w, 0), np.minimum(w, 0)
    return lo @ wp + hi @ wn + b, hi @ wp + lo @ wn + b


class _FastPath:
    """The same arithmetic with the casts that interval analysis proves to be no-ops left out.

    Per layer, the accumulator cast is dropped where no input in the previous type's range can make it
    round or wrap; the shift to the result's LSB is folded into the weights (a power of two: exact); ReLU
    and saturation become one clip. Everything runs in float32 where every partial sum, counted in LSBs,
    stays below 2^23 (exact in any summation order), else in float64.
    """

    def __init__(self, emu: Emulator, dtype, layers: list[tuple]):
        self.dtype = dtype
        scale = np.exp2(emu.input_type.frac - emu.shift.astype(np.float64))
        self.in_scale = scale.astype(dtype)
        self.in_offset = (emu.offset * scale).astype(dtype)
        self.in_round = emu.input_type.rounding
        self.in_lo, self.in_hi = dtype(emu.input_type.int_min), dtype(emu.input_type.int_max)
        # (word - word_min) / 2^width maps each field onto [0, 1) exactly: one min and one max check a block
        span = (emu.word_max - emu.word_min + 1).astype(np.float64)
        self.unit_scale = (1.0 / span).astype(dtype)
        self.unit_offset = (emu.word_min / span).astype(dtype)
        self.layers = layers
        self.ones = np.ones(emu.latent)
        self.thresholds = emu.thresholds.astype(np.float64)

    @classmethod
    def plan(cls, emu: Emulator, dtype=None) -> "_FastPath | None":
        """The fast path for this firmware, or None where it cannot be proven equal; `dtype` forces float32/64."""
        t_in = emu.input_type
        if t_in.overflow != "SAT":
            return None
        limit = max(np.abs(emu.word_max).max(), np.abs(emu.word_min).max(), np.abs(emu.offset).max()) * 2.0 ** max(t_in.frac - emu.shift.min(), 0)
        lo = np.full(emu.n_inputs, float(t_in.int_min))
        hi = np.full(emu.n_inputs, float(t_in.int_max))
        frac, layers = t_in.frac, []
        for L in emu.layers:
            res, acc = L["res"], L["acc"]
            pf = frac + L["wt"].frac
            af = max(pf, L["bt"].frac)
            w_acc, b_acc = L["w"] * 2.0 ** (af - pf), L["b"] * 2.0 ** (af - L["bt"].frac)
            a_lo, a_hi = _box(lo, hi, w_acc, b_acc)
            # the accumulator cast must be the identity, the result cast one round and one clip
            if af != acc.frac or a_lo.min(initial=0) < acc.int_min or a_hi.max(initial=0) > acc.int_max or res.overflow != "SAT":
                return None
            # every partial sum of the product, counted in LSBs of the accumulator
            limit = max(limit, (np.abs(w_acc).sum(axis=0) * max(-lo.min(), hi.max()) + np.abs(b_acc)).max(initial=0))
            s = 2.0 ** (res.frac - pf)
            floor = max(res.int_min, 0) if L["relu"] else res.int_min
            layers.append((L["w"] * s, L["b"] * 2.0 ** (res.frac - L["bt"].frac), res.rounding, floor, res.int_max))
            lo = np.full(L["w"].shape[1], float(floor))
            hi = np.full(L["w"].shape[1], float(res.int_max))
            frac = res.frac
        # sum(mu^2): both casts the identity (same LSB, no value past the type), exact in float64
        sq, sc, mf = emu.square_type, emu.score_type, emu.layers[-1]["res"].frac
        top = max(lo.min() ** 2, hi.max() ** 2)
        if sq.frac != 2 * mf or top > sq.int_max or sc.frac != sq.frac or top * len(hi) > sc.int_max or min(sq.int_min, sc.int_min) > 0:
            return None
        if limit >= 2**50 or (dtype is np.float32 and limit >= 2**23):
            return None
        dtype = dtype or (np.float32 if limit < 2**23 else np.float64)
        return cls(emu, dtype, [(w.astype(dtype), b.astype(dtype), r, dtype(lo_), dtype(hi_)) for w, b, r, lo_, hi_ in layers])

    def mu(self, words: np.ndarray) -> np.ndarray | None:
        """mu of one block, or None if some word does not fit its field."""
        x = words.astype(self.dtype)  # exact for words below 2^23; larger ones fail the check as they round
        # range check on the whole block at once: each field mapped onto [0, 1)
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

    def score_bits(self, mu: np.ndarray):
        m = mu.astype(np.float64)
        m *= m
        score = m @ self.ones  # a BLAS product sums six numbers far faster than .sum(axis=1)
        return mu, score, score[:, None] >= self.thresholds
