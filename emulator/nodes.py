"""One rule per node kind (trigger/design/graph.py), run on raw integers held either in int64 (IntOps) or in float
arrays (FloatOps, only where every value is provably exact there). A new node kind adds one method here."""

from __future__ import annotations

import math

import numpy as np

from emulator.fixed import cast as int_cast
from emulator.fixed import overflow as int_overflow
from emulator.fixed import tree_sum as int_tree_sum
from trigger.design.fixed import FixedType, Overflow, Rounding


class IntOps:
    """Raw values in int64: exact for any design the validator accepts."""

    name = "int64"

    def from_int(self, a):
        return np.asarray(a, dtype=np.int64)

    def to_int(self, a):
        return a

    def cast(self, v, frac: int, t: FixedType, may_overflow: bool = True):
        return int_cast(v, frac, t)

    def overflow(self, v, t: FixedType):
        return int_overflow(v, t)

    def shifted(self, w: np.ndarray, sh: int):
        return np.asarray(w, dtype=np.int64) << sh

    def matmul(self, x, w, bound: float):
        if bound < 2**52:  # float64 BLAS is exact below 2^53
            return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
        return x @ w

    def tree_sum(self, cols, t: FixedType, may_overflow: bool = True):
        return int_tree_sum(cols, t)


class FloatOps:
    """Raw values as integers held in float32/float64: every operation exact while values stay below 2^23 / 2^52."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.name = np.dtype(dtype).name

    def from_int(self, a):
        return np.asarray(a).astype(self.dtype, copy=False)

    def to_int(self, a):
        return a.astype(np.int64)

    def shifted(self, w: np.ndarray, sh: int):
        return (np.asarray(w, dtype=np.float64) * 2.0**sh).astype(self.dtype)

    def matmul(self, x, w, bound: float):
        return x @ w

    def overflow(self, v, t: FixedType):
        lo, hi = t.int_min, t.int_max
        if t.overflow is Overflow.SAT:
            return np.clip(v, lo, hi, out=v)
        if t.overflow is Overflow.SAT_SYM:
            return np.clip(v, -hi if t.signed else 0, hi, out=v)
        if t.overflow is Overflow.SAT_ZERO:
            return np.where((v < lo) | (v > hi), 0, v).astype(self.dtype, copy=False)
        return (np.mod(v - lo, self.dtype(2.0**t.width)) + lo).astype(self.dtype, copy=False)  # WRAP

    def cast(self, v, frac: int, t: FixedType, may_overflow: bool = True):
        d = t.frac - frac
        if d != 0:
            v = v * self.dtype(2.0**d)
        elif may_overflow:  # the saturations below work in place: never on the argument, which other nodes may read
            v = v.copy()
        if d < 0:
            v = _round(v, t.rounding)
        return self.overflow(v, t) if may_overflow else v

    def tree_sum(self, cols, t: FixedType, may_overflow: bool = True):
        if len(cols) == 1:
            return cols[0]
        if not may_overflow:
            total = cols[0]
            for c in cols[1:]:
                total = total + c
            return total
        return int_tree_sum(cols, t, self.overflow)


def _round(v, mode: Rounding):
    """v (dyadic, exact) rounded to an integer by an ap_fixed quantization mode."""
    if mode is Rounding.TRN:
        return np.floor(v, out=v)
    if mode is Rounding.TRN_ZERO:
        return np.trunc(v, out=v)
    if mode is Rounding.RND:
        v += 0.5
        return np.floor(v, out=v)
    if mode is Rounding.RND_CONV:
        return np.rint(v, out=v)  # IEEE round half to even
    if mode is Rounding.RND_MIN_INF:
        v -= 0.5
        return np.ceil(v, out=v)
    s = np.sign(v)
    a = np.abs(v)
    if mode is Rounding.RND_ZERO:  # ties toward zero
        return s * np.ceil(a - 0.5)
    if mode is Rounding.RND_INF:  # ties away from zero
        return s * np.floor(a + 0.5)
    raise ValueError(mode)  # pragma: no cover - the enum is closed


def _bits(x: float) -> int:
    return int(math.ceil(math.log2(max(x, 1.0)))) + 1


class NodeRunner:
    """Runs a design's nodes with one Ops per node (float where exact, int64 otherwise)."""

    def __init__(self, design, analysis, ops, node_ops: dict | None = None):
        self.design, self.a, self.ops = design, analysis, ops
        self.node_ops = node_ops or {n.name: ops for n in design.nodes}
        self._weights: dict = {}

    # --------------------------------------------------------------- which arithmetic each node may use
    @classmethod
    def float_runner(cls, design, analysis) -> "NodeRunner | None":
        need = {n.name: cls.magnitude_bits(design, analysis, n) for n in design.nodes}
        if not any(b <= 52 for b in need.values()):
            return None
        f32, f64, i64 = FloatOps(np.float32), FloatOps(np.float64), IntOps()
        pick = {k: (f32 if b <= 23 else f64 if b <= 52 else i64) for k, b in need.items()}
        return cls(design, analysis, f32 if design.scaling.output.width <= 23 else f64, pick)

    @staticmethod
    def magnitude_bits(design, a, n) -> int:
        """Bits of the largest raw magnitude this node forms (inputs, products, partial sums, pre-cast values)."""
        ta = design.tensor_type(n.inputs[0])
        t = n.type
        up = lambda to, frm: max(to.frac - frm, 0)  # noqa: E731 - a left shift grows the raw value
        if n.op in ("dense", "conv2d"):
            p = a.dense[n.name]
            prod = ta.width + n.weight_type.width + max(n.accum_type.frac - p.pf, 0)
            sums = _bits(p.bound) if p.summed else n.accum_type.width + 1
            return max(prod, sums, n.accum_type.width + up(t, n.accum_type.frac))
        if n.op in ("relu", "linear"):
            return ta.width + up(t, ta.frac)
        tb = design.tensor_type(n.inputs[-1])
        if n.op in ("add", "subtract", "maximum", "minimum"):
            f = max(ta.frac, tb.frac)
            return max(ta.width + f - ta.frac, tb.width + f - tb.frac) + 1 + up(t, f)
        if n.op in ("multiply", "square"):
            return ta.width + tb.width + up(t, ta.frac + tb.frac)
        if n.op == "sum":
            return max(ta.width + up(t, ta.frac), t.width + 1)
        if n.op == "dot":
            acc = n.accum_type
            return max(ta.width + tb.width + up(acc, ta.frac + tb.frac), acc.width + 1, acc.width + up(t, acc.frac))
        if n.op == "batchnorm":
            from trigger.design.graph import product_width

            return product_width(design, n)
        raise ValueError(n.op)  # pragma: no cover

    # --------------------------------------------------------------- running
    def to_int(self, v):
        return v if v.dtype == np.int64 else v.astype(np.int64)

    def run(self, x_int: np.ndarray, keep: set[str]) -> dict:
        vals = {"input": x_int}
        frac = {"input": self.design.scaling.output.frac}
        last_use = {}
        for k, n in enumerate(self.design.nodes):
            for i in n.inputs:
                last_use[i] = k
        for k, n in enumerate(self.design.nodes):
            ops = self.node_ops[n.name]
            args = [ops.from_int(vals[i]) if not isinstance(ops, IntOps) or vals[i].dtype != np.int64 else vals[i] for i in n.inputs]
            if isinstance(ops, IntOps):
                args = [a.astype(np.int64) for a in args]
            vals[n.name] = getattr(self, f"_{n.op}")(n, ops, args, [frac[i] for i in n.inputs])
            frac[n.name] = n.type.frac
            for i in set(n.inputs):  # free what no later node reads (memory of wide blocks)
                if last_use[i] == k and i not in keep:
                    del vals[i]
        return {k: vals[k] for k in keep}

    def _may(self, n, cast="type") -> bool:
        return self.a.overflows(n.name, cast)

    def _dense(self, n, ops, args, fracs):
        x, acc = args[0], n.accum_type
        p = self.a.dense[n.name]
        if p.summed:
            key = (n.name, ops.name)
            if key not in self._weights:
                sh, b_sh = acc.frac - p.pf, acc.frac - n.bias_type.frac
                self._weights[key] = (ops.shifted(n.weight, sh), ops.shifted(n.bias, b_sh))
            w, b = self._weights[key]
            s = ops.matmul(x, w, p.bound)
            if b.any():
                s += b
            if not p.acc_never_overflows:
                s = ops.overflow(s, acc)
        else:  # cast by cast: each product to accum_t, the bias to accum_t, then inputs in order, every sum cast
            s = ops.cast(ops.from_int(n.bias)[None, :].repeat(len(x), axis=0), n.bias_type.frac, acc)
            w = ops.from_int(n.weight)
            for i in range(n.weight.shape[0]):
                s = ops.overflow(s + ops.cast(x[:, i : i + 1] * w[i][None, :], p.pf, acc), acc)
        return ops.cast(s, acc.frac, n.type, self._may(n))

    def _conv2d(self, n, ops, args, fracs):
        """The dense rule on every patch at once: the patches gathered as rows (events x positions, kernel values),
        the result back as (events, positions x filters)."""
        x = args[0]
        idx = n.patches()
        return self._dense(n, ops, [np.take(x, idx.ravel(), axis=1).reshape(-1, idx.shape[1])], fracs).reshape(len(x), -1)

    def _relu(self, n, ops, args, fracs):
        x = args[0]
        if isinstance(ops, FloatOps) and not n.type.signed and n.type.overflow is not Overflow.WRAP:
            # an unsigned saturating cast sends every negative value to 0, as the ReLU would: one pass fewer (the
            # int64 reference keeps the literal rule, and the tests hold the two equal)
            return ops.cast(x, fracs[0], n.type, True)
        return ops.cast(np.maximum(x, 0), fracs[0], n.type, self._may(n))

    def _linear(self, n, ops, args, fracs):
        return ops.cast(args[0], fracs[0], n.type, self._may(n))

    def _aligned(self, ops, args, fracs):
        f = max(fracs)
        return [a if fa == f else a * (2**(f - fa) if isinstance(ops, IntOps) else ops.dtype(2.0 ** (f - fa))) for a, fa in zip(args, fracs)], f

    def _add(self, n, ops, args, fracs):
        (a, b), f = self._aligned(ops, args, fracs)
        return ops.cast(a + b, f, n.type, self._may(n))

    def _subtract(self, n, ops, args, fracs):
        (a, b), f = self._aligned(ops, args, fracs)
        return ops.cast(a - b, f, n.type, self._may(n))

    def _maximum(self, n, ops, args, fracs):
        (a, b), f = self._aligned(ops, args, fracs)
        return ops.cast(np.maximum(a, b), f, n.type, self._may(n))

    def _minimum(self, n, ops, args, fracs):
        (a, b), f = self._aligned(ops, args, fracs)
        return ops.cast(np.minimum(a, b), f, n.type, self._may(n))

    def _multiply(self, n, ops, args, fracs):
        return ops.cast(args[0] * args[1], fracs[0] + fracs[1], n.type, self._may(n))

    def _square(self, n, ops, args, fracs):
        return ops.cast(args[0] * args[0], 2 * fracs[0], n.type, self._may(n))

    def _sum(self, n, ops, args, fracs):
        terms = ops.cast(args[0], fracs[0], n.type, self._may(n, "elements"))
        return ops.tree_sum([terms[:, j] for j in range(terms.shape[1])], n.type, self._may(n, "tree"))[:, None]

    def _dot(self, n, ops, args, fracs):
        acc = n.accum_type
        prods = ops.cast(args[0] * args[1], fracs[0] + fracs[1], acc, self._may(n, "products"))
        if not self._may(n, "accum"):
            total = prods.sum(axis=1) if isinstance(ops, IntOps) else prods @ np.ones(prods.shape[1], dtype=prods.dtype)
        else:  # dot1d: acc = 0, then acc += product in order, each sum cast
            total = prods[:, 0] * 0
            for i in range(prods.shape[1]):
                total = ops.overflow(total + prods[:, i], acc)
        return ops.cast(total, acc.frac, n.type, self._may(n))[:, None]

    def _batchnorm(self, n, ops, args, fracs):
        """x * scale + bias, exact at batchnorm_frac's LSB, then one cast."""
        from trigger.design.graph import batchnorm_frac

        f = batchnorm_frac(self.design.tensor_type(n.inputs[0]), n)
        key = (n.name, ops.name)
        if key not in self._weights:  # scale and bias per element, aligned to f
            s, b = n.per_element()
            self._weights[key] = (ops.shifted(s, f - fracs[0] - n.weight_type.frac), ops.shifted(b, f - n.bias_type.frac))
        s, b = self._weights[key]
        return ops.cast(args[0] * s[None, :] + b[None, :], f, n.type, self._may(n))
