"""The firmware, step by step, in integers: words -> scaling -> dense/ReLU -> mu -> sum(mu^2) -> trigger bits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emulator.fixed import Fx, cast, overflow, shift_round

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
        w = w.astype(np.int64)
        bad = (w < self.word_min) | (w > self.word_max)
        if bad.any():
            ev, col = np.argwhere(bad)[0]
            raise EmulatorError(f"word {self.desc['inputs'][col]['name']} of event {ev} = {w[ev, col]} does not fit its field")
        return w

    def scaled_input(self, words: np.ndarray) -> np.ndarray:
        """(word - offset) >> shift, held exactly with `shift` fraction bits, cast to the input type."""
        d = words - self.offset
        out = np.empty_like(d)
        for s in np.unique(self.shift):
            cols = self.shift == s
            out[:, cols] = shift_round(d[:, cols], int(s) - self.input_type.frac, self.input_type.rounding)
        return overflow(out, self.input_type)

    def mu(self, words: np.ndarray) -> np.ndarray:
        x = self.scaled_input(self.check_words(words))
        frac = self.input_type.frac
        for L in self.layers:
            pf = frac + L["wt"].frac
            af = max(pf, L["bt"].frac)
            acc = np.rint(x.astype(np.float64) @ L["w"]).astype(np.int64) << (af - pf)
            acc = overflow(acc + (L["b"] << (af - L["bt"].frac)), L["acc"])
            if L["relu"]:
                acc = np.maximum(acc, 0)
            x = cast(acc, af, L["res"])
            frac = L["res"].frac
        return x

    def run(self, words: np.ndarray):
        """(mu, score, bits) as integers in units of their LSBs; bits is (N, n_rates) of 0/1."""
        mu = self.mu(words)
        sq = cast(mu * mu, 2 * self.layers[-1]["res"].frac, self.square_type)
        score = cast(sq.sum(axis=1), self.square_type.frac, self.score_type)
        bits = (score[:, None] >= self.thresholds[None, :]).astype(np.int64)
        return mu, score, bits

    def score(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[1]

    def trigger(self, words: np.ndarray) -> np.ndarray:
        return self.run(words)[2]
