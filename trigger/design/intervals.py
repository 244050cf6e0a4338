"""Interval analysis over a design's graph: the one implementation every part of the tool uses.

From each input word's full range, bounds propagate through every cast in the design's order. They are sound
but may over-approximate (a box ignores correlations between values). Used by the emulator (which casts are
no-ops, which dense nodes may be summed at once), the RTL generator (which dense nodes may be one constant-
matrix multiply) and the hazard report (which casts may overflow).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trigger.design import Design
from trigger.design.fixed import FixedType, Overflow

EFFECT = {Overflow.WRAP: "wraps", Overflow.SAT: "saturates", Overflow.SAT_ZERO: "becomes 0", Overflow.SAT_SYM: "saturates (symmetric)"}


def after_cast(lo, hi, t: FixedType):
    """Bounds after casting values in [lo, hi] to t (rounding moves a bound by at most one LSB), and where it may overflow."""
    lo2, hi2 = np.floor(np.asarray(lo, dtype=np.float64) / t.lsb) * t.lsb, np.ceil(np.asarray(hi, dtype=np.float64) / t.lsb) * t.lsb
    floor = t.lowest_raw * t.lsb
    over = (hi2 > t.max_value) | (lo2 < floor)
    if t.overflow is Overflow.WRAP:
        lo2, hi2 = np.where(over, t.min_value, lo2), np.where(over, t.max_value, hi2)
    else:
        lo2, hi2 = np.clip(lo2, floor, t.max_value), np.clip(hi2, floor, t.max_value)
        if t.overflow is Overflow.SAT_ZERO:
            lo2, hi2 = np.where(over, np.minimum(lo2, 0), lo2), np.where(over, np.maximum(hi2, 0), hi2)
    return lo2, hi2, over


@dataclass
class DenseProof:
    """What interval analysis proves of one dense node, in raw units (products at the product LSB `pf`)."""

    pf: int  # the product's fraction bits before its cast to accum_t
    summed: bool  # every product and the bias exact in accum_t, and the sum order-free (no overflow, or it wraps)
    acc_never_overflows: bool
    acc_lo: np.ndarray  # bounds of every partial sum, raw at accum_t's LSB
    acc_hi: np.ndarray
    bound: float  # the largest |partial sum|, raw
    sum_lo: np.ndarray  # bounds of the full sum of the cast terms where nothing overflows, real
    sum_hi: np.ndarray


def dense_proof(n, x_frac: int, x_lo_raw: np.ndarray, x_hi_raw: np.ndarray) -> DenseProof:
    acc = n.accum_type
    pf = x_frac + n.weight_type.frac
    w = n.weight.astype(np.float64)
    p_lo = np.minimum(x_lo_raw[:, None] * w, x_hi_raw[:, None] * w)
    p_hi = np.maximum(x_lo_raw[:, None] * w, x_hi_raw[:, None] * w)
    sh, b_sh = acc.frac - pf, acc.frac - n.bias_type.frac
    low = acc.lowest_raw
    exact_products = sh >= 0 and (p_lo * 2.0**sh >= low).all() and (p_hi * 2.0**sh <= acc.int_max).all()
    exact_bias = b_sh >= 0 and ((n.bias * 2.0**b_sh >= low) & (n.bias * 2.0**b_sh <= acc.int_max)).all()
    # every partial sum (the bias first, then the products in order), each term as cast to accum_t, lies between
    # the cast bias plus all negative extremes and the cast bias plus all positive ones; a saturating addition only
    # moves a sum back toward the range, so these bounds hold through saturation too (SAT_ZERO's 0 aside, which
    # after_cast adds). The uncast bias would be wrong where it overflows accum_t: the sums start from its cast.
    c_lo, c_hi, _ = after_cast(p_lo * 2.0**-pf, p_hi * 2.0**-pf, acc)
    b_lo, b_hi, _ = after_cast(n.bias * n.bias_type.lsb, n.bias * n.bias_type.lsb, acc)
    lo_sum = np.rint((b_lo + np.minimum(c_lo, 0).sum(axis=0)) / acc.lsb)
    hi_sum = np.rint((b_hi + np.maximum(c_hi, 0).sum(axis=0)) / acc.lsb)
    no_overflow = bool((lo_sum >= low).all() and (hi_sum <= acc.int_max).all())
    summed = bool(exact_products and exact_bias and (no_overflow or acc.overflow is Overflow.WRAP))
    # the largest value any addition forms before its cast: a sum within the bounds above plus one more term
    reach = np.maximum(np.abs(lo_sum), np.abs(hi_sum)).max(initial=0)
    if not no_overflow:
        reach = max(reach, max(abs(acc.int_min), acc.int_max) + float(np.maximum(np.abs(c_lo), np.abs(c_hi)).max(initial=0)) / acc.lsb)
    return DenseProof(pf, summed, bool(exact_products and exact_bias and no_overflow), lo_sum, hi_sum, float(reach),
                      b_lo + c_lo.sum(axis=0), b_hi + c_hi.sum(axis=0))


@dataclass
class Analysis:
    ranges: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # tensor -> real bounds
    dense: dict[str, DenseProof] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)  # casts that may overflow
    may_overflow: set = field(default_factory=set)  # (tensor, cast) pairs, cast in type/accum/elements/tree/products

    def overflows(self, name: str, cast: str = "type") -> bool:
        return (name, cast) in self.may_overflow

    def raw_range(self, design: Design, name: str) -> tuple[np.ndarray, np.ndarray]:
        t = design.tensor_type(name)
        lo, hi = self.ranges[name]
        return np.rint(lo / t.lsb), np.rint(hi / t.lsb)


def _note(out: list, where: str, lo, hi, t: FixedType, over) -> None:
    for k in np.flatnonzero(np.atleast_1d(over)):
        out.append({"cast": f"{where}[{k}]" if np.ndim(over) else where,
                    "reachable": [float(np.atleast_1d(lo)[k]), float(np.atleast_1d(hi)[k])],
                    "type": t.hls(), "type_range": [t.min_value, t.max_value], "effect": EFFECT[t.overflow]})


def _scaling(design: Design, a: "Analysis"):
    out = a.notes
    s = design.scaling
    lo = np.array([i.type.min_value for i in design.inputs]) - s.offset * s.offset_type.lsb
    hi = np.array([i.type.max_value for i in design.inputs]) - s.offset * s.offset_type.lsb
    lo, hi, over = after_cast(lo, hi, s.intermediate)
    _note(out, "scaling.intermediate (word - offset)", lo, hi, s.intermediate, over)
    sh = np.exp2(-s.shift.astype(np.float64))
    lo, hi = lo * sh, hi * sh
    wrap = s.intermediate.with_modes()
    lo, hi, over = after_cast(lo, hi, wrap)
    _note(out, "scaling.shift (left shift inside the intermediate)", lo, hi, wrap, over & (s.shift < 0))
    return _cast_noted(a, ("input", "type"), "scaling.output", lo, hi, s.output)


def _cast_noted(a: "Analysis", key: tuple, where, lo, hi, t):
    lo2, hi2, over = after_cast(lo, hi, t)
    _note(a.notes, where, lo, hi, t, over)
    if np.any(over):
        a.may_overflow.add(key)
    return lo2, hi2


def _dense(a: Analysis, design: Design, n, where: str, lo, hi):
    x_t = design.tensor_type(n.inputs[0])
    a.dense[n.name] = proof = dense_proof(n, x_t.frac, np.rint(lo / x_t.lsb), np.rint(hi / x_t.lsb))
    acc = n.accum_type
    w = n.weight * n.weight_type.lsb
    p_lo, p_hi = np.minimum(lo[:, None] * w, hi[:, None] * w), np.maximum(lo[:, None] * w, hi[:, None] * w)
    _, _, p_over = after_cast(p_lo, p_hi, acc)
    if p_over.any():
        i, j = np.argwhere(p_over)[0]
        a.notes.append({"cast": f"{where}.accum_type (products, e.g. input {i} x output {j})", "reachable": [float(p_lo.min()), float(p_hi.max())],
                        "type": acc.hls(), "type_range": [acc.min_value, acc.max_value], "effect": EFFECT[acc.overflow],
                        "count": int(p_over.sum())})
    s_lo, s_hi = proof.acc_lo * acc.lsb, proof.acc_hi * acc.lsb
    a_lo, a_hi, over = after_cast(s_lo, s_hi, acc)
    if acc.overflow is Overflow.SAT_ZERO:  # a sum sent to 0 goes on from there without the bias: any value
        a_lo, a_hi = np.where(over, acc.min_value, a_lo), np.where(over, acc.max_value, a_hi)
    _note(a.notes, f"{where}.accum_type (partial sums)", s_lo, s_hi, acc, over)
    if over.any():
        a.may_overflow.add((n.name, "accum"))
    # without overflow the sum of the cast terms (rounding moves each product by less than one LSB of accum_t)
    lo = np.where(over, a_lo, np.clip(proof.sum_lo, a_lo, a_hi))
    hi = np.where(over, a_hi, np.clip(proof.sum_hi, a_lo, a_hi))
    return _cast_noted(a, (n.name, "type"), f"{where}.result_type", lo, hi, n.type)


def _tree_bounds(lo: list, hi: list, t: FixedType):
    """Bounds of hls4ml's balanced tree of additions each cast to t, where some may overflow: a saturating
    addition is monotone, so the tree of the lower (upper) bounds is the lowest (highest) result; a wrapping or
    zeroing one is not: the whole range."""
    if t.overflow not in (Overflow.SAT, Overflow.SAT_SYM):
        return np.array([t.min_value]), np.array([t.max_value])
    lo_sat = t.lowest_raw * t.lsb

    def tree(v):
        if len(v) == 1:
            return v[0]
        left = 1 << ((len(v) - 1).bit_length() - 1)
        return min(max(tree(v[:left]) + tree(v[left:]), lo_sat), t.max_value)

    return np.array([tree(lo)]), np.array([tree(hi)])


def _product(lo_a, hi_a, lo_b, hi_b, same: bool):
    if same:  # x * x >= 0
        return np.where((lo_a <= 0) & (hi_a >= 0), 0.0, np.minimum(lo_a * lo_a, hi_a * hi_a)), np.maximum(lo_a * lo_a, hi_a * hi_a)
    c = np.stack([lo_a * lo_b, lo_a * hi_b, hi_a * lo_b, hi_a * hi_b])
    return c.min(axis=0), c.max(axis=0)


def _node(a: Analysis, design: Design, k: int, n):
    where = f"nodes[{k}] ({n.name})"
    (lo, hi) = a.ranges[n.inputs[0]]
    if n.op == "dense":
        return _dense(a, design, n, where, lo, hi)
    if n.op == "conv2d":  # the dense rule on the widest range each kernel value sees over every patch
        idx = n.patches()
        y_lo, y_hi = _dense(a, design, n, where, lo[idx].min(axis=0), hi[idx].max(axis=0))
        return np.tile(y_lo, len(idx)), np.tile(y_hi, len(idx))
    if n.op == "relu":
        return _cast_noted(a, (n.name, "type"), f"{where}.type", np.maximum(lo, 0), np.maximum(hi, 0), n.type)
    if n.op == "batchnorm":
        sc, b = n.per_element()
        sc, b = sc * n.weight_type.lsb, b * n.bias_type.lsb
        return _cast_noted(a, (n.name, "type"), f"{where}.type", np.minimum(lo * sc, hi * sc) + b, np.maximum(lo * sc, hi * sc) + b, n.type)
    if n.op == "linear":
        return _cast_noted(a, (n.name, "type"), f"{where}.type", lo, hi, n.type)
    if n.op == "square":
        return _cast_noted(a, (n.name, "type"), f"{where}.type", *_product(lo, hi, lo, hi, True), n.type)
    if n.op in ("add", "subtract", "multiply", "maximum", "minimum"):
        lo_b, hi_b = a.ranges[n.inputs[1]]
        if n.op == "maximum":
            r = (np.maximum(lo, lo_b), np.maximum(hi, hi_b))
        elif n.op == "minimum":
            r = (np.minimum(lo, lo_b), np.minimum(hi, hi_b))
        elif n.op == "add":
            r = (lo + lo_b, hi + hi_b)
        elif n.op == "subtract":
            r = (lo - hi_b, hi - lo_b)
        else:
            r = _product(lo, hi, lo_b, hi_b, n.inputs[0] == n.inputs[1])
        return _cast_noted(a, (n.name, "type"), f"{where}.type", *r, n.type)
    if n.op == "sum":
        t_lo, t_hi = _cast_noted(a, (n.name, "elements"), f"{where}.type (each element)", lo, hi, n.type)
        total = np.array([t_lo.sum()]), np.array([t_hi.sum()])
        r_lo, r_hi = _cast_noted(a, (n.name, "tree"), f"{where}.type (the tree's additions)", *total, n.type)
        if (n.name, "tree") in a.may_overflow:  # clip(Σ) is no bound of a tree of clipped additions
            r_lo, r_hi = _tree_bounds(list(t_lo), list(t_hi), n.type)
        return r_lo, r_hi
    if n.op == "dot":
        lo_b, hi_b = a.ranges[n.inputs[1]]
        p_lo, p_hi = _cast_noted(a, (n.name, "products"), f"{where}.accum_type (products)", *_product(lo, hi, lo_b, hi_b, n.inputs[0] == n.inputs[1]),
                                 n.accum_type)
        s_lo, s_hi = np.array([np.minimum(p_lo, 0).sum()]), np.array([np.maximum(p_hi, 0).sum()])
        acc_lo, acc_hi, over = after_cast(s_lo, s_hi, n.accum_type)
        _note(a.notes, f"{where}.accum_type (partial sums)", s_lo, s_hi, n.accum_type, over)
        if over.any():
            a.may_overflow.add((n.name, "accum"))
        box = np.array([p_lo.sum()]), np.array([p_hi.sum()])
        lo, hi = np.where(over, acc_lo, np.clip(box[0], acc_lo, acc_hi)), np.where(over, acc_hi, np.clip(box[1], acc_lo, acc_hi))
        return _cast_noted(a, (n.name, "type"), f"{where}.type", lo, hi, n.type)
    raise ValueError(f"no interval rule for node kind {n.op!r}")  # pragma: no cover - KINDS is closed


def analyse(design: Design) -> Analysis:
    a = Analysis()
    a.ranges["input"] = _scaling(design, a)
    for k, n in enumerate(design.nodes):
        a.ranges[n.name] = _node(a, design, k, n)
    return a
