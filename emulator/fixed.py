"""Fixed-point arithmetic as ap_fixed defines it, on float64 arrays holding integer counts of an LSB of 2^-frac.

An independent implementation: it shares no code with the firmware generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fx:
    width: int
    integer: int
    signed: bool
    rounding: str
    overflow: str

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def int_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def int_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @classmethod
    def from_dict(cls, d: dict) -> "Fx":
        return cls(int(d["width"]), int(d["integer"]), bool(d["signed"]), str(d["rounding"]), str(d["overflow"]))


def round_scaled(x: np.ndarray, rounding: str) -> np.ndarray:
    """Round, in place, float64 values that are exact dyadic rationals (integer counts times a power of two).

    Exact for magnitudes below 2^52: the fast path the emulator uses on whole arrays.
    """
    if rounding == "TRN":
        return np.floor(x, out=x)
    if rounding == "RND":
        x += 0.5
        return np.floor(x, out=x)
    if rounding == "RND_CONV":
        return np.rint(x, out=x)  # IEEE round half to even
    raise ValueError(f"unsupported rounding mode {rounding!r}")


def cast_float(v: np.ndarray, frac, t: Fx, inplace: bool = False) -> np.ndarray:
    """cast() on float64 arrays of integer counts; `frac` may differ per column."""
    x = v if inplace else v.copy()
    scale = np.exp2(t.frac - np.asarray(frac, dtype=np.float64))
    if scale.ndim or scale != 1.0:
        x *= scale
    round_scaled(x, t.rounding)
    if t.overflow == "SAT":
        return np.clip(x, t.int_min, t.int_max, out=x)
    x -= t.int_min
    np.mod(x, float(1 << t.width), out=x)
    x += t.int_min
    return x
