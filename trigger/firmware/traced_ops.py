"""Exact fixed-point operations on da4ml's traced values, the pieces the RTL is built from: casts in every rounding
x overflow mode (hls4ml's semantics, including where da4ml 0.5.2's own quantize is wrong), a value's square from
adders, and constants added, multiplied and created exactly at any number of fraction bits (da4ml stops at 2^-32).
Each is checked value by value against C++ ap_fixed and the emitted Verilog (tests/design/test_fixed_ops.py,
tests/firmware/test_square.py)."""

from __future__ import annotations

import decimal
import math
from contextlib import contextmanager
from fractions import Fraction

import numpy as np

from trigger.design.fixed import FixedType, Overflow, Rounding


def kif(t: FixedType):
    """da4ml's description of a type: (sign bit, integer bits without it, fraction bits)."""
    return int(t.signed), t.integer - int(t.signed), t.frac


def _bit(b):
    """A 0/1 that da4ml may have decided statically (a Python bool) as something arithmetic accepts."""
    return float(b) if isinstance(b, (bool, np.bool_)) else b


@contextmanager
def exact_decimals(digits: int = 120):
    """Trace inside this: da4ml 0.5.2 keeps every bound, step, scale factor and added constant as a Decimal in the
    current context, at Python's default 28 significant digits; a constant 16 - 2^-39 needs 36 (2^-41 alone 29), so
    it was rounded and the Verilog added 2^-39 too much (a saturation limit one LSB low). 120 digits hold every value
    of 48 bits at any scale the design format allows."""
    with decimal.localcontext() as ctx:
        ctx.prec = max(ctx.prec, digits)
        yield


DA4ML_FRAC = 32  # da4ml 0.5.2 places a constant on a grid of at most this many fraction bits (its _const_f)


def frac_bits(c: float) -> int:
    """How many fraction bits the constant c has (every design constant lies on a power-of-two grid)."""
    return max(Fraction(c).denominator.bit_length() - 1, 0)


def times_const(v, c: float):
    """v times a constant, exact whatever c's fraction bits: da4ml 0.5.2 splits a constant into powers of two only
    down to 2^-32 (its _const_f stops there), so 1 - 2^-35 became 1; here the constant is an integer times a power
    of two, each exact."""
    f = frac_bits(c)
    if f <= DA4ML_FRAC or isinstance(v, float):
        return v * c  # within reach: as before (the same Verilog)
    if v.low == v.high:  # a constant's product in exact arithmetic
        return const(float(Fraction(v.low) * Fraction(c)), v)
    return v * float(Fraction(c) * 2**f) * 2.0**-f


def add_const(v, c: float):
    """v + c, exact whatever c's fraction bits: da4ml 0.5.2 puts an added constant on a grid of at most 2^-32, so a
    saturation limit 4 - 2^-37 lost its low bits (a cast to ap_fixed<40,3,AP_TRN,AP_SAT>: 2^39 - 128 raw instead of
    2^39 - 1) and a square's 2^-40 row vanished. Past that grid the sum is formed 2^s larger, s bringing c within it."""
    s = frac_bits(c) - DA4ML_FRAC
    if s <= 0 or isinstance(v, float):
        return v + c
    if v.low == v.high:  # a constant's sum in exact arithmetic
        return const(float(Fraction(v.low) + Fraction(c)), v)
    if v.opr == "cadd":  # da4ml would fold c into the constant v carries, in v's parent's units (2^-32 again):
        v = v * 3.0 - v * 2.0  # v as a sum of two variables instead (two adders, only here)
    return (v * 2.0**s + c * 2.0**s) * 2.0**-s


def add(a, b):
    """a + b for traced values either of which may be a constant (da4ml adds a constant variable as a constant)."""
    if b.low == b.high:
        return add_const(a, float(b.low))
    if a.low == a.high:
        return add_const(b, float(a.low))
    return a + b


def _grid(v, c: float, up: bool) -> float:
    """c rounded onto v's grid: down, or up."""
    g = Fraction(float(v.step))
    q = Fraction(c) / g
    return float((math.ceil(q) if up else math.floor(q)) * g)


def _on_grid(v, c: float, up: bool) -> float:
    """c moved onto v's grid (down, or up), where c has more than 32 fraction bits: v > c <=> v > floor(c) and
    v < c <=> v < ceil(c) for v on that grid, and the comparison then needs no constant finer than v."""
    return c if frac_bits(c) <= DA4ML_FRAC else _grid(v, c, up)


def relu(v):
    """max(v, 0); a constant's in exact arithmetic (da4ml's relu of a constant puts it on a grid of 2^-32)."""
    return const(max(float(v.low), 0.0), v) if v.low == v.high else v.relu()


def mul(a, b):
    """a * b for traced values either of which may be a constant (then times_const: exact at any fraction bits)."""
    if b.low == b.high:
        return times_const(a, float(b.low))
    if a.low == a.high:
        return times_const(b, float(a.low))
    return a * b


def above(v, c: float):
    """1 where v > c, else 0 (da4ml's `v > c`, exact for any c)."""
    return _bit(add_const(v, -_on_grid(v, c, False)).is_positive())


def below(v, c: float):
    """1 where v < c, else 0 (da4ml's `v < c`, exact for any c)."""
    return _bit(add_const(-v, _on_grid(v, c, True)).is_positive())


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
        return add_const(v, half)
    if r is Rounding.RND_MIN_INF:
        return add_const(v, half - step)
    if r is Rounding.TRN_ZERO:
        return v + times_const(_bit(v.is_negative()), one - step)
    if r is Rounding.RND_ZERO:  # ties toward zero: down when >= 0, up when < 0
        return add_const(v, half - step) + _bit(v.is_negative()) * step
    if r is Rounding.RND_INF:  # ties away from zero
        return add_const(v, half) - _bit(v.is_negative()) * step
    # RND_CONV, ties to even: up only when the kept LSB is odd
    odd = (v * 2.0 ** (f - 1)).quantize(0, 0, 1, "WRAP", "TRN")  # the kept LSB alone, as 0 or 1/2: a wire
    return add_const(v, half - step) + odd * (2.0 * step)


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
    squares, a random graph: 1 clamped to 0.375 gave 0). The unscaled value carries 2^0; the same wires, the same cost.
    A limit past 2^-32 (t with more than 32 fraction bits) never goes to da4ml's: _saturate_fine, in v's own units."""
    hi = 2.0**i - 2.0**-f
    lo = (-hi if mode == "SAT_SYM" else -(2.0**i)) if k else 0.0
    if max(frac_bits(hi), frac_bits(lo)) > DA4ML_FRAC:
        r = _saturate_fine(v, hi, lo)
        return r if r.low == r.high else r.quantize(k, i, f, "WRAP", "TRN")  # da4ml's quantize of a constant: 2^-32
    e = int(round(math.log2(float(v.step) / float(v.unscaled.step))))  # |that power| = 2^e
    if e:
        return _saturate(v * 2.0**-e, k, i - e, f + e, mode) * 2.0**e
    if math.log2(float(v.step)) + f <= FINER:
        return v.quantize(k, i, f, mode, "TRN")
    # a limit far finer than v's LSB: da4ml 0.5.2's Verilog got such a clamp wrong (random graphs: v on a grid of 4
    # clamped to 4 - 2^-17; its interpreter was right); clamp with ReLUs of differences instead (more adders)
    r = v
    if v.high > hi:
        r = r - add_const(r, -hi).relu()
    if v.low < lo:
        r = r + add_const(-r, lo).relu()
    return r.quantize(k, i, f, "WRAP", "TRN")


def _saturate_fine(v, hi: float, lo: float):
    """v clamped to [lo, hi], limits with more than 32 fraction bits: clamped to the nearest limits on v's own grid
    (constants within da4ml's reach), then each limit's fine remainder added where v passed it, as a 0/1 bit times
    that constant (times_const: powers of two, exact). No constant finer than v's grid is ever added: da4ml 0.5.2
    folds an added constant into the one v already carries, in its parent's units, on a grid of 2^-32 at the finest."""
    hi_g, lo_g = _grid(v, hi, False), _grid(v, lo, True)
    over = above(v, hi_g) if v.high > hi_g else 0.0
    under = below(v, lo_g) if v.low < lo_g else 0.0
    if isinstance(over, float) and isinstance(under, float) and over + under:  # decided: every value saturates
        return const(hi if over else lo, v)
    r = v
    if not isinstance(over, float):
        r = r - add_const(r, -hi_g).relu() + times_const(over, hi - hi_g)
    if not isinstance(under, float):
        r = r + add_const(-r, lo_g).relu() + times_const(under, lo - lo_g)
    return r


def _plus_bit_times(r, bit, c: float):
    """r + bit * c for a 0/1 bit, or a bit decided statically (a float): then a constant, added exactly."""
    if isinstance(bit, float):
        return add_const(r, bit * c) if bit else r
    return r + times_const(bit, c)


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
    its Verilog. A t past WIDE bits too needs constants of more than 32 fraction bits: times_const."""
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
    over = above(v, hi + t.lsb - step) if v.high >= hi + t.lsb else 0.0
    under = below(v, lo) if v.low < lo else 0.0
    out = _clear_out_of_range(wrapped, over + under, t)
    if o is not Overflow.SAT_ZERO:
        out = _plus_bit_times(_plus_bit_times(out, over, hi), under, lo)
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
    fine = frac_bits(half) > DA4ML_FRAC  # then compare on v's grid (above/below), as before otherwise (the same Verilog)
    if v.high > t.max_value:
        out = out + (above(v, t.max_value) if fine else _bit(add_const(-v, t.max_value + half).is_negative()))
    if v.low < t.min_value:
        out = out + (below(v, t.min_value) if fine else _bit(add_const(v, -(t.min_value + -half)).is_negative()))
    return _in_type(_clear_out_of_range(wrapped, out, t), t)


def const(value: float, like):
    """A constant in like's graph (its hardware configuration). Past 32 fraction bits it is an integer scaled by a
    power of two (which changes only its scale factor): da4ml 0.5.2 would place it on a grid of 2^-32 (2^-34 became
    0: a fuzz design's bias-only output)."""
    from da4ml.trace.fixed_variable import FixedVariable

    s = frac_bits(value)
    if s <= DA4ML_FRAC:
        return FixedVariable.from_const(value, hwconf=like.hwconf)
    return FixedVariable.from_const(value * 2.0**s, hwconf=like.hwconf) * 2.0**-s


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
            rows.append(mul(bit, add_const(high * 2.0 ** (p + 1), 2.0 ** (2 * p))))
        else:
            rows.append(bit * 2.0 ** (2 * p))
    if k:
        rows.append((v * 2.0**-i).quantize(0, 1, 0, "WRAP", "TRN") * 2.0 ** (2 * i))  # (-2^i)^2 when negative
    top = max(abs(float(v.low)), abs(float(v.high)))
    # the rows' sum lies in [0, top^2]; da4ml's intervals of the partial sums are wider: declare the true range
    return _pairwise(rows).quantize(0, max(math.ceil(math.log2(top * top + 2.0 ** (-2 * f))), 0), 2 * f, "WRAP", "TRN")
