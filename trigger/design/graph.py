"""The nodes of a `trigger-design/2` graph: what each kind computes, how the file states it, how it is validated.

Each node reads tensors named earlier (`input` is the scaling's output) and produces one tensor of `size`
values of one fixed-point type. Semantics, as the hls4ml layer of that name computes them in Vitis HLS C++:
    dense     p_ij = cast(accum, x_i * w_ij); acc_j = cast(accum, b_j); acc_j = cast(accum, acc_j + p_ij) in input
              order; y_j = cast(type, acc_j)                       (`result_type` in the file is the node's type)
    relu      cast(type, x) where x > 0, else 0         linear   cast(type, x)
    add, subtract, multiply    cast(type, a op b) elementwise (the exact result, then one cast)
    maximum, minimum           cast(type, a > b ? a : b) (minimum: a < b) elementwise: hls4ml's Maximum/Minimum merge,
              the comparison on the uncast values
    square    cast(type, x * x)
    sum       one value: nnet::reduce's balanced tree of `type` additions over cast(type, x_i)
    dot       one value: hls4ml's dot1d: acc = 0; acc = cast(accum, acc + cast(accum, a_i * b_i)) in order;
              cast(type, acc)
    conv2d    channels last, no padding: out[oh, ow, f] = cast(type, acc), acc = cast(accum, b_f), then for kernel
              row, kernel column, channel in that order acc = cast(accum, acc + cast(accum, x[oh*SH+kh, ow*SW+kw, c]
              * w[kh][kw][c][f])); flattened (oh, ow, f) as Keras's Flatten. It is a dense node applied to every
              patch (weight rows in (kh, kw, c) order), and every implementation builds it so.
    batchnorm hls4ml's BatchNormalization (nnet::normalize): y_i = cast(type, x_i * scale_j + bias_j), j = i mod
              len(scale) (one value per element, or per channel of a channels-last tensor), the product and the sum
              exact (ap_fixed arithmetic), then one cast
A new kind adds an entry to KINDS here and one function per implementation (emulator, HLS, RTL, intervals).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from trigger.design.fixed import FixedType

ELEMENTWISE = ("add", "subtract", "multiply", "maximum", "minimum")
# op -> (keys besides name/op, optional keys); `input` for one operand, `inputs` for two
KINDS = {
    "dense": (("input", "weight", "bias", "weight_type", "bias_type", "accum_type", "result_type"), ()),
    "relu": (("input", "type"), ()),
    "linear": (("input", "type"), ()),
    "add": (("inputs", "type"), ()),
    "subtract": (("inputs", "type"), ()),
    "multiply": (("inputs", "type"), ()),
    "maximum": (("inputs", "type"), ()),
    "minimum": (("inputs", "type"), ()),
    "square": (("input", "type"), ()),
    "sum": (("input", "type"), ()),
    "dot": (("inputs", "accum_type", "type"), ()),
    "conv2d": (("input", "in_shape", "kernel", "strides", "weight", "bias", "weight_type", "bias_type", "accum_type", "result_type"), ()),
    "batchnorm": (("input", "scale", "bias", "scale_type", "bias_type", "type"), ()),
}
WEIGHTED = ("dense", "conv2d")  # nodes with a weight matrix, accumulated as hls4ml's latency dense does


@dataclass(frozen=True, eq=False)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    type: FixedType  # the output tensor's type (a dense node's result_type)
    size: int  # values in the output tensor
    weight: np.ndarray | None = None  # dense: (n_in, n_out) raw integers of weight_type; batchnorm: the scale, (L,)
    bias: np.ndarray | None = None
    weight_type: FixedType | None = None
    bias_type: FixedType | None = None
    accum_type: FixedType | None = None  # dense, dot, conv2d
    in_shape: tuple[int, int, int] | None = None  # conv2d: (rows, columns, channels) of its input
    kernel: tuple[int, int] | None = None
    strides: tuple[int, int] | None = None

    @property
    def out_shape(self) -> tuple[int, int, int]:
        (h, w, _), (kh, kw), (sh, sw) = self.in_shape, self.kernel, self.strides
        return (h - kh) // sh + 1, (w - kw) // sw + 1, int(self.weight.shape[1])

    def patches(self) -> np.ndarray:
        """conv2d: (positions, kernel values) indices into the flattened input, positions in (oh, ow) order and
        kernel values in (kh, kw, c) order: the rows of the weight matrix."""
        (_, w, c), (kh, kw), (sh, sw) = self.in_shape, self.kernel, self.strides
        oh, ow, _ = self.out_shape
        r = (np.arange(oh)[:, None, None, None, None] * sh + np.arange(kh)[None, None, :, None, None])
        q = (np.arange(ow)[None, :, None, None, None] * sw + np.arange(kw)[None, None, None, :, None])
        idx = (r * w + q) * c + np.arange(c)[None, None, None, None, :]
        return idx.reshape(oh * ow, kh * kw * c)

    def to_dict(self) -> dict:
        d: dict = {"name": self.name, "op": self.op}
        if self.op in ELEMENTWISE or self.op == "dot":
            d["inputs"] = list(self.inputs)
        else:
            d["input"] = self.inputs[0]
        if self.op in WEIGHTED:
            w = self.weight * self.weight_type.lsb
            if self.op == "conv2d":
                d |= {"in_shape": list(self.in_shape), "kernel": list(self.kernel), "strides": list(self.strides)}
                w = w.reshape(*self.kernel, self.in_shape[2], -1)  # [kh][kw][c][f], as Keras holds it
            d |= {"weight": w.tolist(), "bias": (self.bias * self.bias_type.lsb).tolist(),
                  "weight_type": self.weight_type.hls(), "bias_type": self.bias_type.hls(),
                  "accum_type": self.accum_type.hls(), "result_type": self.type.hls()}
            return d
        if self.op == "batchnorm":
            d |= {"scale": (self.weight * self.weight_type.lsb).tolist(), "bias": (self.bias * self.bias_type.lsb).tolist(),
                  "scale_type": self.weight_type.hls(), "bias_type": self.bias_type.hls()}
        if self.op == "dot":
            d["accum_type"] = self.accum_type.hls()
        d["type"] = self.type.hls()
        return d

    def per_element(self) -> tuple[np.ndarray, np.ndarray]:
        """batchnorm: the raw scale and bias of every element (index i mod their length)."""
        reps = self.size // len(self.weight)
        return np.tile(self.weight, reps), np.tile(self.bias, reps)


def nodes_from_layers(layers, score) -> tuple[list[Node], str, str]:
    """A format-1 design as its graph: dense + relu/linear per layer, then square and sum. Returns (nodes,
    score node, exposed tensor = mu)."""
    nodes, prev, used = [], "input", {"input"}

    def fresh(name: str) -> str:
        while name in used:
            name += "_"
        used.add(name)
        return name

    for L in layers:
        d = fresh(L.name)
        nodes.append(Node(d, "dense", (prev,), L.result_type, L.n_out, L.weight, L.bias, L.weight_type, L.bias_type, L.accum_type))
        a = fresh(f"{L.name}_{L.activation}")
        nodes.append(Node(a, L.activation, (d,), L.activation_type, L.n_out))
        prev = a
    sq = fresh("score_square")
    nodes.append(Node(sq, "square", (prev,), score.square_type, layers[-1].n_out))
    total = fresh("score")
    nodes.append(Node(total, "sum", (sq,), score.sum_type, 1))
    return nodes, total, prev


def product_width(design, n: Node) -> int:
    """Bits of the widest product this node forms once aligned to the type it is cast to (the emulator's int64)."""
    if n.op in WEIGHTED:
        x = design.tensor_type(n.inputs[0])
        pf = x.frac + n.weight_type.frac
        return x.width + n.weight_type.width + max(n.accum_type.frac - pf, 0)
    if n.op in ("multiply", "square", "dot"):
        a = design.tensor_type(n.inputs[0])
        b = design.tensor_type(n.inputs[-1])
        target = n.accum_type if n.op == "dot" else n.type
        return a.width + b.width + max(target.frac - a.frac - b.frac, 0)
    if n.op in ("add", "subtract", "maximum", "minimum"):
        a, b = (design.tensor_type(x) for x in n.inputs)
        f = max(a.frac, b.frac, n.type.frac)
        return max(a.width + f - a.frac, b.width + f - b.frac) + 1
    if n.op == "batchnorm":
        x = design.tensor_type(n.inputs[0])
        f = batchnorm_frac(x, n)
        return max(x.width + n.weight_type.width + f - x.frac - n.weight_type.frac, n.bias_type.width + f - n.bias_type.frac) + 1
    return 0


def batchnorm_frac(x: FixedType, n: Node) -> int:
    """The fraction bits x * scale + bias is formed at, exactly: the finer of the product's and the bias's (or the
    result type's, so that a cast to it only drops bits)."""
    return max(x.frac + n.weight_type.frac, n.bias_type.frac, n.type.frac)


def read_nodes(r, d: dict, n_inputs: int) -> tuple[list[Node], str, str | None]:
    """Parse and validate `nodes`, `score` and `expose` of a format-2 file; `r` names key paths (design_reader.Reader)."""
    if not isinstance(d["nodes"], list) or not d["nodes"]:
        r.fail("nodes", "expected a non-empty list of nodes")
    sizes: dict[str, int] = {"input": n_inputs}
    nodes: list[Node] = []
    for k, item in enumerate(d["nodes"]):
        p = f"nodes[{k}]"
        if not isinstance(item, dict):
            r.fail(p, f"expected a mapping, got {type(item).__name__}")
        op = item.get("op")
        if op not in KINDS:
            r.fail(f"{p}.op", f"{op!r}: one of {', '.join(KINDS)}")
        keys, optional = KINDS[op]
        r.mapping(item, p, ("name", "op") + keys, optional)
        name = item["name"]
        if not isinstance(name, str) or not name:
            r.fail(f"{p}.name", "expected a non-empty string")
        if name in sizes:
            r.fail(f"{p}.name", f"{name!r} is already a tensor name")
        if "inputs" in keys:
            ins = item["inputs"]
            if not isinstance(ins, list) or len(ins) != 2:
                r.fail(f"{p}.inputs", "expected a list of two tensor names")
            where = [f"{p}.inputs[{j}]" for j in range(2)]
        else:
            ins, where = [item["input"]], [f"{p}.input"]
        for t, w in zip(ins, where):
            if t not in sizes:
                later = any(isinstance(x, dict) and x.get("name") == t for x in d["nodes"][k:])
                r.fail(w, f"unknown tensor {t!r}" + (" (a node may only read tensors named before it)" if later else ""))
        n_in = sizes[ins[0]]
        if len(ins) == 2 and sizes[ins[1]] != n_in:
            r.fail(f"{p}.inputs", f"{ins[0]!r} has {n_in} values, {ins[1]!r} has {sizes[ins[1]]}: they must be equal")
        if op == "dense":
            wt, bt, weight, bias = r.dense_params(item, p, n_in, lambda rows: f"{rows} rows, its input {ins[0]!r} has {n_in} values")
            node = Node(name, op, tuple(ins), r.type(item["result_type"], f"{p}.result_type"), int(weight.shape[1]), weight, bias, wt, bt,
                        r.type(item["accum_type"], f"{p}.accum_type"))
        elif op == "conv2d":
            node = _read_conv2d(r, item, p, name, ins[0], n_in)
        elif op == "batchnorm":
            node = _read_batchnorm(r, item, p, name, ins[0], n_in)
        else:
            size = 1 if op in ("sum", "dot") else n_in
            acc = r.type(item["accum_type"], f"{p}.accum_type") if op == "dot" else None
            node = Node(name, op, tuple(ins), r.type(item["type"], f"{p}.type"), size, accum_type=acc)
        nodes.append(node)
        sizes[name] = node.size
    score = d["score"]
    if not isinstance(score, str) or score not in sizes or score == "input":
        r.fail("score", f"{score!r} is not a node of this design")
    if sizes[score] != 1:
        r.fail("score", f"node {score!r} has {sizes[score]} values: the score must be one value (end with a sum or a dot)")
    expose = d.get("expose")
    if expose is not None and (not isinstance(expose, str) or expose not in sizes):
        r.fail("expose", f"{expose!r} is not a tensor of this design")
    _warn_unused(r, nodes, score, expose)
    return nodes, score, expose


def _ints(r, v, path: str, n: int, what: str) -> tuple[int, ...]:
    if not isinstance(v, list) or len(v) != n or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
        r.fail(path, f"expected {n} positive integers ({what}), got {v!r}")
    return tuple(v)


def _read_conv2d(r, item: dict, p: str, name: str, src: str, n_in: int) -> Node:
    h, w, c = _ints(r, item["in_shape"], f"{p}.in_shape", 3, "rows, columns, channels")
    kh, kw = _ints(r, item["kernel"], f"{p}.kernel", 2, "rows, columns")
    sh, sw = _ints(r, item["strides"], f"{p}.strides", 2, "rows, columns")
    if h * w * c != n_in:
        r.fail(f"{p}.in_shape", f"{[h, w, c]} holds {h * w * c} values, its input {src!r} has {n_in}")
    if kh > h or kw > w:
        r.fail(f"{p}.kernel", f"{[kh, kw]} is larger than the input's {[h, w]}")
    if (h - kh) % sh or (w - kw) % sw:
        r.fail(f"{p}.strides", f"{[sh, sw]} do not divide the input {[h, w]} less the kernel {[kh, kw]} (no padding: rows "
                               f"{h} - {kh} and columns {w} - {kw} must be multiples of the strides)")
    try:
        w4 = np.asarray(item["weight"], dtype=float)
    except (ValueError, TypeError):
        w4 = None
    if w4 is None or w4.ndim != 4 or w4.shape[:3] != (kh, kw, c):
        r.fail(f"{p}.weight", f"expected [kernel row {kh}][kernel column {kw}][channel {c}][filter] nesting, got shape "
                              f"{'ragged' if w4 is None else w4.shape}")
    flat = dict(item, weight=w4.reshape(kh * kw * c, w4.shape[3]).tolist())
    wt, bt, weight, bias = r.dense_params(flat, p, kh * kw * c, lambda rows: f"{rows} kernel values")
    node = Node(name, "conv2d", (src,), r.type(item["result_type"], f"{p}.result_type"), 0, weight, bias, wt, bt,
                r.type(item["accum_type"], f"{p}.accum_type"), (h, w, c), (kh, kw), (sh, sw))
    oh, ow, f = node.out_shape
    return dataclasses.replace(node, size=oh * ow * f)


def _read_batchnorm(r, item: dict, p: str, name: str, src: str, n_in: int) -> Node:
    from trigger.design.reader import MAX_PARAM_WIDTH

    st, bt = r.type(item["scale_type"], f"{p}.scale_type"), r.type(item["bias_type"], f"{p}.bias_type")
    for key, t in (("scale_type", st), ("bias_type", bt)):
        if t.width > MAX_PARAM_WIDTH:
            r.fail(f"{p}.{key}", f"{t.width} bits: scales and biases of at most {MAX_PARAM_WIDTH} bits are supported")
    n = len(r.array(item["scale"], f"{p}.scale", 1))
    if n == 0 or n_in % n:
        r.fail(f"{p}.scale", f"{n} values: one per element of {src!r} ({n_in}) or per channel (a divisor of {n_in})")
    scale = r.on_grid(item["scale"], st, f"{p}.scale", (n,))
    bias = r.on_grid(item["bias"], bt, f"{p}.bias", (n,))
    return Node(name, "batchnorm", (src,), r.type(item["type"], f"{p}.type"), n_in, scale, bias, st, bt)


def _warn_unused(r, nodes: list[Node], score: str, expose: str | None) -> None:
    """Nodes the score does not depend on are computed by nobody's firmware: say so, without failing."""
    by = {n.name: n for n in nodes}
    need, todo = set(), [score] + ([expose] if expose else [])
    while todo:
        t = todo.pop()
        if t in need or t == "input":
            continue
        need.add(t)
        todo.extend(by[t].inputs)
    for k, n in enumerate(nodes):
        if n.name not in need:
            warnings.warn(f"{r.source}: nodes[{k}] ({n.name!r}): unused (the score does not depend on it)", stacklevel=3)
