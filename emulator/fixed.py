"""Integer fixed-point arithmetic as ap_fixed defines it. Values are int64 counts of an LSB of 2^-frac.

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


def shift_round(v: np.ndarray, drop: int, rounding: str) -> np.ndarray:
    """Divide int64 v by 2**drop with the given rounding (drop <= 0 multiplies exactly)."""
    v = np.asarray(v, dtype=np.int64)
    if drop <= 0:
        return v << (-drop)
    q = v >> drop  # floor division: TRN rounds towards minus infinity, as ap_fixed does
    if rounding == "TRN":
        return q
    r = v - (q << drop)
    half = 1 << (drop - 1)
    if rounding == "RND":  # half up (towards plus infinity)
        return q + (r >= half)
    if rounding == "RND_CONV":  # half to even
        return q + ((r > half) | ((r == half) & ((q & 1) == 1)))
    raise ValueError(f"unsupported rounding mode {rounding!r}")


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


def overflow(v: np.ndarray, t: Fx) -> np.ndarray:
    if t.overflow == "SAT":
        return np.clip(v, t.int_min, t.int_max)
    if t.overflow == "WRAP":
        span = 1 << t.width
        return ((v - t.int_min) % span) + t.int_min
    raise ValueError(f"unsupported overflow mode {t.overflow!r}")


def cast(v: np.ndarray, frac: int, t: Fx) -> np.ndarray:
    """A value held with `frac` fraction bits, assigned to type t (quantise, then overflow)."""
    return overflow(shift_round(v, frac - t.frac, t.rounding), t)
