"""Fixed-point casts as `ap_fixed` assignment defines them, on int64 arrays of raw values (counts of an LSB).

An independent implementation: it shares no arithmetic with the firmware generators; it only reads the
parsed types (trigger.design.fixed.FixedType). Every rounding mode (quantization first, on the bits below the
new LSB), then every overflow mode (on the rounded value), as in Vitis HLS's ap_fixed_base.h.
"""

from __future__ import annotations

import numpy as np

from trigger.design.fixed import FixedType, Overflow, Rounding


def _round_right(raw: np.ndarray, s: np.ndarray, mode: Rounding) -> np.ndarray:
    """raw / 2^s rounded to an integer by `mode`; s >= 0 (elementwise or scalar)."""
    s = np.minimum(s, 62)
    q = raw >> s
    if mode is Rounding.TRN:
        return q
    rem = raw - (q << s)  # the dropped bits, 0 .. 2^s - 1
    some = s > 0
    half = np.where(some, np.left_shift(1, np.maximum(s - 1, 0)), 0)
    above, tie = rem > half, some & (rem == half)
    neg = raw < 0
    if mode is Rounding.TRN_ZERO:
        up = neg & (rem != 0)
    elif mode is Rounding.RND:
        up = above | tie
    elif mode is Rounding.RND_ZERO:
        up = above | (tie & neg)
    elif mode is Rounding.RND_INF:
        up = above | (tie & ~neg)
    elif mode is Rounding.RND_MIN_INF:
        up = above
    elif mode is Rounding.RND_CONV:
        up = above | (tie & (q & 1).astype(bool))
    else:  # pragma: no cover - the enum is closed
        raise ValueError(mode)
    return q + up


def overflow(v: np.ndarray, t: FixedType) -> np.ndarray:
    """Bring integer raw values into t's range by t's overflow mode."""
    lo, hi = t.int_min, t.int_max
    if t.overflow is Overflow.WRAP:
        return ((v - lo) & ((1 << t.width) - 1)) + lo
    if t.overflow is Overflow.SAT:
        return np.clip(v, lo, hi)
    if t.overflow is Overflow.SAT_ZERO:
        return np.where((v < lo) | (v > hi), 0, v)
    if t.overflow is Overflow.SAT_SYM:
        return np.clip(v, -hi if t.signed else 0, hi)
    raise ValueError(t.overflow)  # pragma: no cover


def cast(raw: np.ndarray, frac, t: FixedType) -> np.ndarray:
    """Assign values raw * 2^-frac (int64; `frac` scalar or broadcastable) to type t; returns t's raw values."""
    raw = np.asarray(raw, dtype=np.int64)
    d = t.frac - np.asarray(frac, dtype=np.int64)
    if d.ndim == 0:
        v = raw << int(d) if d >= 0 else _round_right(raw, -d, t.rounding)
    else:
        v = np.where(d >= 0, raw << np.maximum(d, 0), _round_right(raw, np.maximum(-d, 0), t.rounding))
    return overflow(v, t)


def shift_raw(raw: np.ndarray, shift: np.ndarray, t: FixedType) -> np.ndarray:
    """ap_fixed's `x >> shift` inside type t: raw bits move, nothing rounds; a left shift (negative) loses the top bits."""
    right = raw >> np.maximum(shift, 0)
    k = np.maximum(-shift, 0)
    left = (raw & ((np.int64(1) << np.maximum(t.width - k, 0)) - 1)) << k  # keeps W bits without overflowing int64
    if t.signed:
        left = np.where(left >= (1 << (t.width - 1)), left - (1 << t.width), left)
    return np.where(shift >= 0, right, left)


def tree_sum(cols: list[np.ndarray], t: FixedType, wrap=None) -> np.ndarray:
    """hls4ml's nnet::reduce with Op_add<T>: a balanced tree, every addition cast to t (same LSB: overflow only);
    `wrap` replaces the int64 overflow (the float path passes its own)."""
    wrap = wrap or overflow
    n = len(cols)
    if n == 1:
        return cols[0]
    left = 1 << ((n - 1).bit_length() - 1)  # pow2(floorlog2(n - 1)); 1 when n == 2
    return wrap(tree_sum(cols[:left], t, wrap) + tree_sum(cols[left:], t, wrap), t)
