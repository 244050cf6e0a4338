"""Exact fixed-point operations on da4ml's traced values, the pieces the RTL is built from: casts in every rounding
x overflow mode (hls4ml's semantics, including where da4ml 0.5.2's own quantize is wrong) and a value's square from
adders. Each is checked value by value against C++ ap_fixed and the emitted Verilog (tests/design/test_fixed_ops.py,
tests/firmware/test_square.py)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from trigger.design.fixed import FixedType, Overflow, Rounding


def kif(t: FixedType):
    """da4ml's description of a type: (sign bit, integer bits without it, fraction bits)."""
    return int(t.signed), t.integer - int(t.signed), t.frac


def _bit(b):
    """A 0/1 that da4ml may have decided statically (a Python bool) as something arithmetic accepts."""
    return float(b) if isinstance(b, (bool, np.bool_)) else b


FINER = 8  # bits: a saturation limit this much finer than the value's LSB still goes to da4ml's own (AXOL1TL v5: 3)
WIDE = 30  # bits: past this, da4ml 0.5.2 saturates (max_of/min_of) wrongly, in its interpreter and its Verilog
# (_cast_wide builds such casts from other operations, any target width up to the design format's 48 bits)


def _round_step(v, t: FixedType):
    """v plus the correction that makes truncation to t's LSB round as t.rounding says (da4ml truncates or rounds
    half up only): half an LSB, minus one input step where ties go down, plus a step back where the sign or the
    kept LSB says so. Built from additions, the sign bit and one narrow slice: exact at any width."""
    f, fv = t.frac, v.kif[2]
    if fv <= f or t.rounding is Rounding.TRN:
        return v
    step, half, one = 2.0**-fv, 2.0 ** (-f - 1), 2.0**-f
    r = t.rounding
    if r is Rounding.RND:
        return v + half
    if r is Rounding.RND_MIN_INF:
        return v + (half - step)
    if r is Rounding.TRN_ZERO:
        return v + _times_const(_bit(v.is_negative()), one - step)
    if r is Rounding.RND_ZERO:  # ties toward zero: down when >= 0, up when < 0
        return v + (half - step) + _bit(v.is_negative()) * step
    if r is Rounding.RND_INF:  # ties away from zero
        return v + half - _bit(v.is_negative()) * step
    # RND_CONV, ties to even: up only when the kept LSB is odd
    odd = (v * 2.0 ** (f - 1)).quantize(0, 0, 1, "WRAP", "TRN")  # the kept LSB alone, as 0 or 1/2: a wire
    return v + (half - step) + odd * (2.0 * step)


def wrap(v, k: int, i: int, f: int):
    """v wrapped into (k, i, f), v's dropped bits truncated. da4ml 0.5.2 wraps a negative value into an unsigned type
    modulo 2^(its own integer bits + 1), not 2^i (its quantize trims i first): -0.5 into ap_ufixed<9,6> gave 3.5,
    not 63.5 (a random graph's scaling). There: wrap signed into [-2^i, 2^i), then add 2^i where negative."""
    if k or v.low >= 0:
        return v.quantize(k, i, f, "WRAP", "TRN")
    s = v.quantize(1, i, f, "WRAP", "TRN")
    if s.low >= 0:
        return s.quantize(0, i, f, "WRAP", "TRN")
    return (s + _bit(s.is_negative()) * 2.0**i).quantize(0, i, f, "WRAP", "TRN")


def _saturate(v, k: int, i: int, f: int, mode: str):
    """da4ml's own saturation (max_of/min_of), applied to v's unscaled form: da4ml 0.5.2 keeps a value as integer
    wires times a power of two, and its min_of compared wrongly where that power was far from 1 (2^-40 after chained
    squares, a random graph: 1 clamped to 0.375 gave 0). The unscaled value carries 2^0; the same wires, the same cost."""
    e = int(round(math.log2(float(v.step) / float(v.unscaled.step))))  # |that power| = 2^e
    if e:
        return _saturate(v * 2.0**-e, k, i - e, f + e, mode) * 2.0**e
    if math.log2(float(v.step)) + f <= FINER:
        return v.quantize(k, i, f, mode, "TRN")
    hi = 2.0**i - 2.0**-f
    lo = (-hi if mode == "SAT_SYM" else -(2.0**i)) if k else 0.0
    # a limit far finer than v's LSB: da4ml 0.5.2's Verilog got such a clamp wrong (random graphs: v on a grid of 4
    # clamped to 4 - 2^-17; its interpreter was right); clamp with ReLUs of differences instead (more adders)
    r = v
    if v.high > hi:
        r = r - (r - hi).relu()
    if v.low < lo:
        r = r + (lo - r).relu()
    return r.quantize(k, i, f, "WRAP", "TRN")


def _times_const(v, c: float):
    """v times a constant, exact whatever c's fraction bits: da4ml 0.5.2 splits a constant into powers of two only
    down to 2^-32 (its _const_f stops there), so 1 - 2^-35 became 1; here the constant is an integer times a power
    of two, each exact."""
    q = Fraction(c)
    f = max(q.denominator.bit_length() - 1, 0)  # c * 2^f is an integer (c lies on a power-of-two grid)
    return v * float(q * 2**f) * 2.0**-f if f > 32 else v * c  # within da4ml's reach: as before (the same Verilog)


def _clear_out_of_range(wrapped, out, t: FixedType):
    """wrapped where out == 0, else 0: two ReLUs of values pushed below zero, no multiplexer."""
    kill = out * 2.0 ** (kif(t)[1] + 2)  # above every |wrapped|: subtracting it sends both ReLUs to 0
    return (wrapped - kill).relu() - (-wrapped - kill).relu()


def _in_type(v, t: FixedType):
    """v, whose values t holds though da4ml's intervals (blind to exclusive terms) say wider, declared as t."""
    k, i, f = kif(t)
    return v.quantize(k, i, f, "WRAP", "TRN")


def _cast_wide(v, t: FixedType):
    """A cast of a value past WIDE bits to t, from operations da4ml gets right at that width: the rounding
    correction, comparisons with constants (sign bits of differences), a wrap into t (a slice) and ReLUs.
    Found on AXOL1TL v5's 37-bit score accumulator, which da4ml's own SAT got wrong in its interpreter and
    its Verilog. A t past WIDE bits too needs constants of more than 32 fraction bits: _times_const."""
    k, i, f = kif(t)
    v = _round_step(v, t)
    step = 2.0 ** -v.kif[2]
    wrapped = wrap(v, k, i, f)  # floor to t's LSB, then wrap: a slice of v
    o = t.overflow
    if o is Overflow.WRAP:
        return wrapped
    hi, lo = t.max_value, t.lowest_raw * t.lsb
    if v.low >= lo and v.high < hi + t.lsb:
        return wrapped
    # floor(v) > hi <=> v >= hi + lsb <=> v > hi + lsb - step; floor(v) < lo <=> v < lo (lo lies on t's grid)
    over = _bit(v > hi + t.lsb - step) if v.high >= hi + t.lsb else 0.0
    under = _bit(v < lo) if v.low < lo else 0.0
    out = _clear_out_of_range(wrapped, over + under, t)
    if o is not Overflow.SAT_ZERO:
        out = out + _times_const(over, hi) + _times_const(under, lo)
    return _in_type(out, t)


def _cast_const(v, t: FixedType):
    """A constant's cast, in exact integers: da4ml 0.5.2 wraps a constant into an unsigned type modulo twice
    its range (FixedVariable.quantize), which made a bias's round-to-even wrong in a random graph."""
    x = Fraction(v.low) * 2**t.frac  # v.low is a Decimal: exact
    q = math.floor(x)
    rem = x - q
    neg = x < 0
    up = {Rounding.TRN: False, Rounding.TRN_ZERO: neg and rem > 0, Rounding.RND: rem >= Fraction(1, 2),
          Rounding.RND_ZERO: rem > Fraction(1, 2) or (rem == Fraction(1, 2) and neg),
          Rounding.RND_INF: rem > Fraction(1, 2) or (rem == Fraction(1, 2) and not neg),
          Rounding.RND_MIN_INF: rem > Fraction(1, 2),
          Rounding.RND_CONV: rem > Fraction(1, 2) or (rem == Fraction(1, 2) and q % 2 == 1)}[t.rounding]
    q += int(up)
    lo, hi = t.int_min, t.int_max
    if t.overflow is Overflow.WRAP:
        q = (q - lo) % (1 << t.width) + lo
    elif t.overflow is Overflow.SAT_ZERO:
        q = q if lo <= q <= hi else 0
    else:
        q = min(max(q, t.lowest_raw), hi)
    return const(q * t.lsb, v)


def cast(v, t: FixedType):
    """Assign a traced scalar to type t with t's rounding (on the dropped bits) and then its overflow mode."""
    if v.low == v.high:
        return _cast_const(v, t)
    k, i, f = kif(t)
    kv, iv, fv = v.kif
    if kv + iv + fv > WIDE and (t.rounding is not Rounding.TRN and fv > f or t.overflow is not Overflow.WRAP):
        return _cast_wide(v, t)
    v = _round_step(v, t)
    o = t.overflow
    if fv > f:
        kv, iv, _ = v.kif
        # rounded; no bit lost at the top yet: a value below the new LSB may round to +-1 LSB (a floor of -2^-7 to
        # frac 0 is -1: with iv + 1 = -1 integer bits da4ml would make it a constant 0)
        v = v.quantize(kv, max(iv + 1, 1 - f), f, "WRAP", "TRN")
        if v.low == v.high:  # every value rounds to one: its overflow in exact integers, as for any constant
            return _cast_const(v, t.with_modes(Rounding.TRN, o))
    if o is Overflow.WRAP:
        return wrap(v, k, i, f)
    if o is Overflow.SAT or o is Overflow.SAT_SYM:
        return _saturate(v, k, i, f, "SAT_SYM" if o is Overflow.SAT_SYM and t.signed else "SAT")
    # SAT_ZERO: any value outside the range gives 0. Built from ReLUs and 0/1 sign bits, not msb_mux: da4ml
    # 0.5.2's msb_mux gave wrong values where its operands carry different scale factors (a left-shifted input,
    # a negated comparison), which made the random designs' Verilog inexact.
    wrapped = v.quantize(k, i, f, "WRAP", "TRN")
    if v.low >= t.min_value and v.high <= t.max_value:
        return wrapped
    if v.low > t.max_value or v.high < t.min_value:
        return wrapped * 0.0
    half = 2.0 ** (-f - 1)  # the differences below are never 0: v lies on a grid of 2^-f
    out = 0.0
    if v.high > t.max_value:
        out = out + _bit((t.max_value + half - v).is_negative())
    if v.low < t.min_value:
        out = out + _bit((v - (t.min_value + -half)).is_negative())
    return _in_type(_clear_out_of_range(wrapped, out, t), t)


def const(value: float, like):
    """A constant in like's graph (its hardware configuration)."""
    from da4ml.trace.fixed_variable import FixedVariable

    return FixedVariable.from_const(value, hwconf=like.hwconf)


def _pairwise(vals: list):
    """A balanced tree of exact additions."""
    while len(vals) > 1:
        vals = [vals[j] + vals[j + 1] if j + 1 < len(vals) else vals[j] for j in range(0, len(vals), 2)]
    return vals[0]


def square(v):
    """v * v from adders alone (`square_in: lut`): x^2 = sum_i x_i 2^p (2^p + 2 H_i) over the bits x_i (weight 2^p)
    below the sign, H_i being x with bits up to i cleared (a slice, signed), plus the sign bit's 2^(2 i_top).
    Each row is one bit times a slice (AND gates), the rows summed on carry chains: yosys maps an 18-bit square
    to 264 LUTs this way against 633 for a `*` without DSPs (measured, synth_xilinx -nodsp)."""
    if v.low == v.high:
        return const(float(v.low) ** 2, v)
    k, i, f = (int(a) for a in v.kif)
    rows = []
    for p in range(-f, i):
        bit = (v * 2.0**-p).quantize(0, 1, 0, "WRAP", "TRN")  # bit p as 0/1: a wire
        if k + i - (p + 1) > 0:
            high = v.quantize(k, i, -(p + 1), "WRAP", "TRN")  # x floored to 2^(p+1): its bits above p
            rows.append(bit * (high * 2.0 ** (p + 1) + 2.0 ** (2 * p)))
        else:
            rows.append(bit * 2.0 ** (2 * p))
    if k:
        rows.append((v * 2.0**-i).quantize(0, 1, 0, "WRAP", "TRN") * 2.0 ** (2 * i))  # (-2^i)^2 when negative
    top = max(abs(float(v.low)), abs(float(v.high)))
    # the rows' sum lies in [0, top^2]; da4ml's intervals of the partial sums are wider: declare the true range
    return _pairwise(rows).quantize(0, max(math.ceil(math.log2(top * top + 2.0 ** (-2 * f))), 0), 2 * f, "WRAP", "TRN")
