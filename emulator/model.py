"""The firmware, step by step, in integers: words -> scaling -> dense/ReLU -> mu -> sum(mu^2) -> trigger bits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emulator.fixed import Fx, cast_float

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

    def check_words(self, words: np.ndarray) -> np.ndarray:
        w = np.asarray(words)
        if w.ndim != 2 or w.shape[1] != self.n_inputs:
            raise EmulatorError(f"expected an (N, {self.n_inputs}) array of words, got shape {w.shape}")
        if not np.issubdtype(w.dtype, np.integer):
            raise EmulatorError(f"words must be integers, got {w.dtype}")
        w = w.astype(np.int64, copy=False)
        if len(w) and (w.min(axis=0) >= self.word_min).all() and (w.max(axis=0) <= self.word_max).all():
            return w
        bad = (w < self.word_min) | (w > self.word_max)
        if bad.any():
            ev, col = np.argwhere(bad)[0]
            raise EmulatorError(f"word {self.desc['inputs'][col]['name']} of event {ev} = {w[ev, col]} does not fit its field")
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

    def run(self, words: np.ndarray):
        """(mu, score, bits) as int64 counts of their LSBs; bits is (N, n_rates) of 0/1."""
        words = self.check_words(words)
        if len(words) <= self.CHUNK:
            return self._run(words)
        parts = [self._run(words[i : i + self.CHUNK]) for i in range(0, len(words), self.CHUNK)]
        return tuple(np.concatenate(p) for p in zip(*parts))

    def _run(self, words: np.ndarray):
        mu = self._mu(words)
        mf = self.layers[-1]["res"].frac
        sq = cast_float(mu * mu, 2 * mf, self.square_type)
        score = cast_float(sq.sum(axis=1), self.square_type.frac, self.score_type)
        bits = (score[:, None] >= self.thresholds[None, :]).astype(np.int64)
        return mu.astype(np.int64), score.astype(np.int64), bits

    def score(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[1]

    def trigger(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[2]
