"""The firmware's input scaling, (word - offset) >> shift, chosen from training data.

The shift is a power of two so the firmware needs no multiplier; the scaled value is exact
(a fixed-point number with `shift` fraction bits) until the input quantizer rounds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigger.design.fixed import FixedType



@dataclass(frozen=True)
class Scaling:
    offset: np.ndarray  # (57,) int64
    shift: np.ndarray  # (57,) int64, >= 0

    def apply(self, words: np.ndarray) -> np.ndarray:
        """Exact scaled values as float64 (dyadic rationals, exactly representable)."""
        return (np.asarray(words, dtype=np.int64) - self.offset) / np.exp2(self.shift)

    def to_dict(self) -> dict:
        return {"offset": self.offset.tolist(), "shift": self.shift.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaling":
        return cls(np.asarray(d["offset"], dtype=np.int64), np.asarray(d["shift"], dtype=np.int64))


def fit_scaling(words: np.ndarray, weights: np.ndarray, input_type: FixedType, offset: str = "mean", cover_quantile: float = 0.999) -> Scaling:
    """Offset: the weighted mean word, rounded (or zero). Shift: smallest that fits `cover_quantile` of
    |word - offset| into the input type."""
    w = np.asarray(weights, dtype=np.float64)
    x = np.asarray(words, dtype=np.float64)
    if offset == "mean":
        off = np.rint((x * w[:, None]).sum(0) / w.sum()).astype(np.int64)
    elif offset == "zero":
        off = np.zeros(x.shape[1], dtype=np.int64)
    else:
        raise ValueError(f"unknown scaling offset {offset!r} (mean or zero)")
    dev = np.abs(x - off)
    cover = np.quantile(dev, cover_quantile, axis=0)
    limit = input_type.max_value
    shift = np.zeros(x.shape[1], dtype=np.int64)
    nz = cover > limit
    shift[nz] = np.ceil(np.log2(cover[nz] / limit)).astype(np.int64)
    return Scaling(off, shift)


def count_input_saturation(words: np.ndarray, scaling: Scaling, input_type: FixedType) -> dict:
    """How many scaled inputs fall outside the input type (they saturate in firmware)."""
    v = scaling.apply(words)
    over = (v > input_type.max_value) | (v < input_type.min_value)
    return {"values": int(over.sum()), "events": int(over.any(axis=1).sum()), "total_values": int(v.size)}
