"""Small hand-written designs for tests of the firmware side (no training needed)."""

from __future__ import annotations

import itertools

import numpy as np

from trigger.design.fixed import FixedType, Overflow, Rounding

MODES = list(itertools.product(Rounding, Overflow))
_ROUND = [r.value for r in Rounding]
_OVER = [o.value for o in Overflow]


def _t(rng, signed=None, wmax=12, mode=None):
    w = int(rng.integers(4, wmax + 1))
    i = int(rng.integers(1, w))
    r, o = mode if mode is not None else MODES[int(rng.integers(len(MODES)))]
    return f"ap_{'' if (signed if signed is not None else rng.integers(2)) else 'u'}fixed<{w},{i},AP_{r},AP_{o}>"


def _on_grid(rng, shape, frac: int, lim: int):
    return (rng.integers(-lim, lim + 1, size=shape) * 2.0**-frac).tolist()


def random_words(emu, n: int = 20000, seed: int = 0) -> np.ndarray:
    """n random full-range words of a design, then its edge cases (extremes, empty, saturating drives)."""
    from trigger.verify.edge_words import edge_cases

    rng = np.random.default_rng(seed)
    return np.concatenate([rng.integers(emu.word_min, emu.word_max + 1, size=(n, emu.n_inputs))] + list(edge_cases(emu).values()))


def modes_used(design) -> set:
    """The (rounding, overflow) pairs of every type a design's nodes cast to."""
    return {(t.rounding, t.overflow) for n in design.nodes for t in (n.type, n.accum_type) if t is not None}


def random_graph(seed: int) -> dict:
    """A small graph with a skip connection, a merge, linear hidden layers and a dot or sum score; every type
    random, the modes drawn so that the seeds together cover all 28 rounding x overflow pairs."""
    rng = np.random.default_rng(seed)
    mode = lambda k: MODES[(seed * 7 + k) % len(MODES)]  # noqa: E731
    n = 6
    merge = ["add", "subtract", "multiply"][seed % 3]
    nodes = [
        {"name": "d1", "op": "dense", "input": "input", "weight": _on_grid(rng, (n, 5), 3, 12), "bias": _on_grid(rng, 5, 2, 6),
         "weight_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<6,4>", "accum_type": _t(rng, True, 14, mode(0)), "result_type": _t(rng, True, 12, mode(1))},
        {"name": "r1", "op": "relu", "input": "d1", "type": _t(rng, None, 10, mode(2))},
        {"name": "d2", "op": "dense", "input": "r1", "weight": _on_grid(rng, (5, 4), 2, 6), "bias": _on_grid(rng, 4, 2, 5),
         "weight_type": "ap_fixed<5,3>", "bias_type": "ap_fixed<5,3>", "accum_type": _t(rng, True, 14, mode(3)), "result_type": _t(rng, True, 12, mode(4))},
        {"name": "lin", "op": "linear", "input": "d2", "type": _t(rng, True, 10, mode(5))},
        {"name": "skip", "op": "dense", "input": "input", "weight": _on_grid(rng, (n, 4), 3, 8), "bias": _on_grid(rng, 4, 2, 4),
         "weight_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<5,3>", "accum_type": _t(rng, True, 14, mode(6)), "result_type": _t(rng, True, 10, mode(7))},
        {"name": "merge", "op": merge, "inputs": ["lin", "skip"], "type": _t(rng, True, 12, mode(8))},
    ]
    if seed % 2:
        other = "merge" if seed % 4 == 3 else "lin"  # a dot of a tensor with itself: squares, as v5's score
        nodes.append({"name": "score", "op": "dot", "inputs": ["merge", other], "accum_type": _t(rng, True, 16, mode(9)), "type": _t(rng, True, 12, mode(10))})
    else:
        nodes += [{"name": "sq", "op": "square", "input": "merge", "type": _t(rng, False, 12, mode(9))},
                  {"name": "score", "op": "sum", "input": "sq", "type": _t(rng, False, 10, mode(10))}]
    return {
        "format": "trigger-design/2", "name": f"graph{seed}",
        "inputs": [{"name": f"w{i}", "type": "ap_uint<7>" if i % 2 else "ap_int<6>"} for i in range(n)],
        "scaling": {"offset": [3, -2, 0, 5, 1, 0], "offset_type": "ap_int<8>", "shift": [2, 1, 0, 3, -1, 2],
                    "intermediate": "ap_fixed<14,10>", "output": _t(rng, True, 10, mode(11))},
        "nodes": nodes, "score": "score",
        "thresholds": [{"name": "low", "raw": -3}, {"name": "mid", "raw": 5}, {"name": "high", "raw": 40}],
    }


def random_conv_graph(seed: int) -> dict:
    """A small image trigger: a conv2d over a (rows, columns, channels) input (overlapping patches on odd seeds,
    disjoint ones on even seeds), ReLU, a dense layer, a sum-of-squares or dot score; every type random, the
    modes drawn so that the seeds together cover all 28 rounding x overflow pairs (a wrapping accumulator
    among them)."""
    rng = np.random.default_rng(100 + seed)
    mode = lambda k: MODES[(seed * 5 + k) % len(MODES)]  # noqa: E731
    h, w, c, f = (6, 6, 2, 3) if seed % 2 else (6, 4, 1, 4)
    kernel, strides = ([3, 2], [1, 2]) if seed % 2 else ([2, 2], [2, 2])
    oh, ow = (h - kernel[0]) // strides[0] + 1, (w - kernel[1]) // strides[1] + 1
    k = kernel[0] * kernel[1] * c
    weight = np.asarray(_on_grid(rng, (k, f), 3, 12)).reshape(kernel[0], kernel[1], c, f).tolist()
    nodes = [
        {"name": "conv", "op": "conv2d", "input": "input", "in_shape": [h, w, c], "kernel": kernel, "strides": strides,
         "weight": weight, "bias": _on_grid(rng, f, 2, 6), "weight_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<6,4>",
         "accum_type": _t(rng, True, 12, mode(0)), "result_type": _t(rng, True, 12, mode(1))},
        {"name": "r", "op": "relu", "input": "conv", "type": _t(rng, None, 10, mode(2))},
        {"name": "d", "op": "dense", "input": "r", "weight": _on_grid(rng, (oh * ow * f, 3), 2, 5), "bias": _on_grid(rng, 3, 2, 4),
         "weight_type": "ap_fixed<5,3>", "bias_type": "ap_fixed<5,3>", "accum_type": _t(rng, True, 14, mode(3)), "result_type": _t(rng, True, 12, mode(4))},
    ]
    if seed % 2:
        nodes.append({"name": "score", "op": "dot", "inputs": ["d", "d"], "accum_type": _t(rng, True, 16, mode(5)), "type": _t(rng, False, 12, mode(6))})
    else:
        nodes += [{"name": "sq", "op": "square", "input": "d", "type": _t(rng, False, 12, mode(5))},
                  {"name": "score", "op": "sum", "input": "sq", "type": _t(rng, False, 10, mode(6))}]
    n = h * w * c
    return {
        "format": "trigger-design/2", "name": f"conv{seed}",
        "inputs": [{"name": f"px{i}", "type": "ap_uint<6>"} for i in range(n)],
        "scaling": {"offset": [int(v) for v in rng.integers(0, 8, n)], "offset_type": "ap_int<8>", "shift": [1] * n,
                    "intermediate": "ap_fixed<14,10>", "output": _t(rng, True, 10, mode(7))},
        "nodes": nodes, "score": "score",
        "thresholds": [{"name": "low", "raw": 3}, {"name": "high", "raw": 60}],
    }


def calo_like(seed=3, word="ap_uint<10>") -> dict:
    """CICADA's shape: conv 2x2 stride 2 on the 18 x 14 image, ReLU, dense, ReLU, dense 1, ReLU score."""
    rng = np.random.default_rng(seed)
    f = 3
    return {
        "format": "trigger-design/2", "name": "cicada_like",
        "inputs": [{"name": f"region{i}", "type": word} for i in range(252)],
        "scaling": {"offset": [0] * 252, "offset_type": "ap_fixed<10,10>", "shift": [0] * 252,
                    "intermediate": "ap_fixed<18,13>", "output": "ap_uint<10>"},
        "nodes": [
            {"name": "conv", "op": "conv2d", "input": "input", "in_shape": [18, 14, 1], "kernel": [2, 2], "strides": [2, 2],
             "weight": np.asarray(_on_grid(rng, (4, f), 6, 60)).reshape(2, 2, 1, f).tolist(), "bias": [0.0] * f,
             "weight_type": "ap_fixed<12,4>", "bias_type": "ap_uint<1>", "accum_type": "ap_fixed<30,22>", "result_type": "ap_fixed<30,22>"},
            {"name": "r1", "op": "relu", "input": "conv", "type": "ap_ufixed<10,6,AP_RND_CONV,AP_SAT>"},
            {"name": "d1", "op": "dense", "input": "r1", "weight": _on_grid(rng, (189, 4), 6, 4), "bias": _on_grid(rng, 4, 4, 16),
             "weight_type": "ap_fixed<8,2>", "bias_type": "ap_fixed<8,4>", "accum_type": "ap_fixed<26,14>", "result_type": "ap_fixed<26,14>"},
            {"name": "r2", "op": "relu", "input": "d1", "type": "ap_ufixed<10,6,AP_RND_CONV,AP_SAT>"},
            {"name": "d2", "op": "dense", "input": "r2", "weight": _on_grid(rng, (4, 1), 6, 100), "bias": [0.0],
             "weight_type": "ap_fixed<12,4>", "bias_type": "ap_uint<1>", "accum_type": "ap_fixed<26,14>", "result_type": "ap_fixed<26,14>"},
            {"name": "score", "op": "relu", "input": "d2", "type": "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>"},
        ],
        "score": "score", "thresholds": [{"name": "nominal", "raw": 1000}],
    }


# ------------------------------------------------------------------ random DAGs of every node kind (bench/fuzz_graphs.py)
def _type(rng, wmax: int, signed=None, modes=True) -> str:
    w = int(rng.integers(1, wmax + 1))
    # mostly integer bits within the width; one type in eight left-shifted or all-fraction (ap_fixed<6,8>, <6,-2>)
    i = int(rng.integers(-3, w + 4)) if rng.random() < 0.125 else int(rng.integers(0, w + 1))
    s = bool(rng.integers(2)) if signed is None else signed
    if s and w < 2:
        w = 2
    base = f"ap_{'' if s else 'u'}fixed<{w},{i}"
    if not modes:
        return base + ">"
    return base + f",AP_{_ROUND[int(rng.integers(len(_ROUND)))]},AP_{_OVER[int(rng.integers(len(_OVER)))]}>"


def _mid(rng) -> str:
    """The scaling's intermediate: wide enough for every word and shift (the validator's rule), any modes."""
    w = int(rng.integers(16, 25))
    return f"ap_fixed<{w},{int(rng.integers(w - 6, w + 1))},AP_{_ROUND[int(rng.integers(len(_ROUND)))]},AP_{_OVER[int(rng.integers(len(_OVER)))]}>"


def _values(rng, t: str, shape) -> list:
    """Raw values of a modes-free type t, as reals on its grid (the design states weights as reals)."""
    ft = FixedType.parse(t)
    return (rng.integers(ft.int_min, ft.int_max + 1, size=shape) * ft.lsb).tolist()


_TYPE_KEYS = ("type", "accum_type", "result_type", "weight_type", "bias_type", "scale_type")
_VALUE_KEYS = {"weight": "weight_type", "bias": "bias_type", "scale": "scale_type"}


def _shift_type(t: str, d: int) -> str:
    """t with d fewer integer bits (d more fraction bits), its width and modes kept."""
    ft = FixedType.parse(t)
    return FixedType(ft.width, ft.integer - d, ft.signed, ft.rounding, ft.overflow).hls()


def finer(g: dict, seed: int) -> dict:
    """The design with half its nodes moved 12-30 bits down (every type of the node d more fraction bits, its
    constants scaled by 2^-d, their raw integers kept): constants and limits with more than 32 fraction bits, which
    da4ml 0.5.2 splits only down to 2^-32. A stream of its own (60_000 + seed)."""
    rng = np.random.default_rng(60_000 + seed)
    for n in g["nodes"]:
        if rng.random() < 0.5:
            continue
        d = int(rng.integers(12, 31))
        for k in _TYPE_KEYS:
            if k in n:
                n[k] = _shift_type(n[k], d)
        for k in _VALUE_KEYS:
            if k in n:
                n[k] = (np.asarray(n[k], dtype=np.float64) * 2.0**-d).tolist()
    g["name"] += "fine"
    return g


def coarser(g: dict, seed: int) -> dict:
    """finer's mirror, with values that stay large: half the weighted nodes (dense, conv2d, batchnorm) take weights
    2^e larger (e in 12..30) and every node's types follow the scale of what it reads (a product's the sum of its
    operands', a merge's the larger: a fine and a coarse tensor added). Where no merge mixes scales, every raw integer
    is the plain design's: the same computation with its binary point moved past 2^32. A stream of its own (70_000 + seed)."""
    rng = np.random.default_rng(70_000 + seed)
    scale = {"input": 0}
    for n in g["nodes"]:
        ins = n.get("inputs") or [n["input"]]
        if n["op"] in ("multiply", "square", "dot"):  # a square's one input is both factors
            d = scale[ins[0]] + scale[ins[-1]]
        else:
            d = max(scale[i] for i in ins)
        extra = int(rng.integers(12, 31)) if n["op"] in ("dense", "conv2d", "batchnorm") and rng.random() < 0.5 else 0
        for k in _TYPE_KEYS:
            if k in n and k not in ("weight_type", "scale_type"):
                n[k] = _shift_type(n[k], -(d + extra))
        for k, tk in (("weight", "weight_type"), ("scale", "scale_type")):
            if k in n:
                n[tk] = _shift_type(n[tk], -extra)
                n[k] = (np.asarray(n[k], dtype=np.float64) * 2.0**extra).tolist()
        if "bias" in n:
            n["bias"] = (np.asarray(n["bias"], dtype=np.float64) * 2.0 ** (d + extra)).tolist()
        scale[n["name"]] = d + extra
    g["name"] += "coarse"
    return g


def wider_words(g: dict, d: int) -> dict:
    """Every input word d bits wider (its integer bits too) and the scaling's intermediate with them, so the
    validator's rule (the intermediate holds every word and shift) still holds: words of up to 30 bits for d = 20."""
    if d == 0:
        return g
    for i in g["inputs"]:
        ft = FixedType.parse(i["type"])
        i["type"] = FixedType(ft.width + d, ft.integer + d, ft.signed).hls()
    ft = FixedType.parse(g["scaling"]["intermediate"])
    g["scaling"]["intermediate"] = FixedType(ft.width + d, ft.integer + d, ft.signed, ft.rounding, ft.overflow).hls()
    g["name"] += f"words{d}"
    return g


def fuzz_format1(seed: int) -> dict:
    """A random `trigger-design/1` chain (the format that goes through hls4ml's converter): fuzz_graph's inputs and
    scaling, 1-3 dense layers with a relu or linear activation, then the square/sum score; every computed type
    random over every mode, one in four an `ap_int`/`ap_uint` (hls4ml's own spelling of an integer type). A stream
    of its own (80_000 + seed)."""
    g = fuzz_graph(seed)
    rng = np.random.default_rng(80_000 + seed)

    def t(wmax, signed=None):
        if rng.random() < 0.25:
            w = int(rng.integers(2, wmax + 1))
            return f"ap_{'' if (signed if signed is not None else rng.integers(2)) else 'u'}int<{w}>"
        return _type(rng, wmax, signed)

    n_in, layers = len(g["inputs"]), []
    for k in range(int(rng.integers(1, 4))):
        out = int(rng.integers(1, 6))
        wt, bt = _type(rng, 8, True, False), _type(rng, 8, None, False)
        layers.append({"name": f"dense{k}", "weight": _values(rng, wt, (n_in, out)), "bias": _values(rng, bt, out), "weight_type": wt,
                       "bias_type": bt, "accum_type": t(32, True), "result_type": t(24, True),
                       "activation": ["relu", "linear"][int(rng.integers(2))], "activation_type": t(16)})
        n_in = out
    score = {"square_type": t(24, False), "sum_type": t(24, False)}
    st = FixedType.parse(score["sum_type"])
    raws = sorted(int(v) for v in rng.integers(st.int_min, st.int_max + 1, 3))
    return {"format": "trigger-design/1", "name": f"fuzz1_{seed}", "inputs": g["inputs"], "scaling": g["scaling"], "layers": layers,
            "score": score, "thresholds": [{"name": f"t{k}", "raw": r} for k, r in enumerate(raws)]}


def fuzz_graph(seed: int, conv: bool = False, batchnorm: bool = False, minmax: bool = False, fine: bool = False,
               coarse: bool = False) -> dict:
    """One random design: 2-6 inputs, 2-7 hidden nodes reading any earlier tensor, a score node of one value. With
    conv, the inputs are an image of (2-5, 2-5, 1-2) and a conv2d node (kernel up to 3 x 3, strides 1-2) comes first;
    with batchnorm, half the nodes are followed by a batchnorm (per element, or per channel after the conv2d), drawn
    from a stream of their own (the other draws, and so the designs without batchnorm, stay as they were); with
    minmax, half the nodes are followed by a maximum or minimum of them and another tensor of their size (or
    themselves), from a third stream; with fine, `finer` moves half the nodes far below the binary point, with
    coarse `coarser` far above it."""
    rng = np.random.default_rng((20_000 if conv else 10_000) + seed)
    bn_rng = np.random.default_rng(30_000 + seed)
    mm_rng = np.random.default_rng(40_000 + seed)
    if conv:
        ih, iw, ic = int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(1, 3))
        n_in = ih * iw * ic
    else:
        n_in = int(rng.integers(2, 7))
    inputs = []
    for k in range(n_in):
        w = int(rng.integers(1, 11))
        kind = int(rng.integers(3))
        t = f"ap_uint<{w}>" if kind == 0 else f"ap_int<{max(w, 2)}>" if kind == 1 else f"ap_ufixed<{w},{int(rng.integers(0, w + 1))}>"
        inputs.append({"name": f"w{k}", "type": t})
    off_w = int(rng.integers(4, 11))
    scaling = {"offset": [int(v) for v in rng.integers(-(2 ** (off_w - 2)), 2 ** (off_w - 2), n_in)], "offset_type": f"ap_int<{off_w}>",
               "shift": [int(v) for v in rng.integers(-2, 6, n_in)], "intermediate": _mid(rng),
               "output": _type(rng, 16)}
    size = {"input": n_in}
    nodes = []

    def pick(n=None):
        names = [k for k, v in size.items() if n is None or v == n]
        return names[int(rng.integers(len(names)))] if names else None

    def maybe_batchnorm(src, per: int):
        if not batchnorm or bn_rng.random() < 0.5:
            return
        st, bt = _type(bn_rng, 8, True, False), _type(bn_rng, 8, None, False)
        name = f"bn_{src}"
        nodes.append({"name": name, "op": "batchnorm", "input": src, "scale": _values(bn_rng, st, per), "bias": _values(bn_rng, bt, per),
                      "scale_type": st, "bias_type": bt, "type": _type(bn_rng, 24)})
        size[name] = size[src]

    def maybe_minmax(src):
        if not minmax or mm_rng.random() < 0.5:
            return
        same = [k for k, v in size.items() if v == size[src]]
        other = same[int(mm_rng.integers(len(same)))]
        name = f"mm_{src}"
        pair = [src, other] if mm_rng.random() < 0.5 else [other, src]
        nodes.append({"name": name, "op": ["maximum", "minimum"][int(mm_rng.integers(2))], "inputs": pair, "type": _type(mm_rng, 24)})
        size[name] = size[src]

    def dense(name, src, out):
        wt, bt = _type(rng, 8, True, False), _type(rng, 8, None, False)
        nodes.append({"name": name, "op": "dense", "input": src, "weight": _values(rng, wt, (size[src], out)),
                      "bias": _values(rng, bt, out), "weight_type": wt, "bias_type": bt,
                      "accum_type": _type(rng, 32, True), "result_type": _type(rng, 24, True)})
        size[name] = out

    if conv:
        kh, kw = int(rng.integers(1, min(ih, 3) + 1)), int(rng.integers(1, min(iw, 3) + 1))
        # strides that divide the input less the kernel (no padding)
        sh, sw = [int(rng.choice([d for d in (1, 2) if (n - k) % d == 0])) for n, k in ((ih, kh), (iw, kw))]
        nf = int(rng.integers(1, 4))
        wt, bt = _type(rng, 8, True, False), _type(rng, 8, None, False)
        nodes.append({"name": "conv", "op": "conv2d", "input": "input", "in_shape": [ih, iw, ic], "kernel": [kh, kw], "strides": [sh, sw],
                      "weight": _values(rng, wt, (kh, kw, ic, nf)), "bias": _values(rng, bt, nf), "weight_type": wt, "bias_type": bt,
                      "accum_type": _type(rng, 32, True), "result_type": _type(rng, 24, True)})
        size["conv"] = ((ih - kh) // sh + 1) * ((iw - kw) // sw + 1) * nf
        maybe_batchnorm("conv", nf)
    for j in range(int(rng.integers(2, 8))):
        name = f"n{j}"
        op = ["dense", "dense", "relu", "linear", "add", "subtract", "multiply", "square"][int(rng.integers(8))]
        src = pick()
        if op == "dense":
            dense(name, src, int(rng.integers(1, 7)))
        elif op in ("relu", "linear", "square"):
            nodes.append({"name": name, "op": op, "input": src, "type": _type(rng, 24)})
            size[name] = size[src]
        else:
            other = src if rng.random() < 0.3 else pick(size[src])
            nodes.append({"name": name, "op": op, "inputs": [src, other], "type": _type(rng, 24)})
            size[name] = size[src]
        maybe_batchnorm(name, size[name])
        maybe_minmax(name)
    last = nodes[-1]["name"] if nodes else "input"
    kind = int(rng.integers(4))
    if kind == 0:
        nodes.append({"name": "score", "op": "sum", "input": last, "type": _type(rng, 24)})
    elif kind == 1:
        other = last if rng.random() < 0.5 else pick(size[last])
        nodes.append({"name": "score", "op": "dot", "inputs": [last, other], "accum_type": _type(rng, 40, True), "type": _type(rng, 24)})
    elif kind == 2:
        dense("score", last, 1)
    else:
        dense("pre", last, 1)
        nodes.append({"name": "score", "op": ["relu", "linear", "square"][int(rng.integers(3))], "input": "pre", "type": _type(rng, 24)})
    score_t = nodes[-1].get("type") or nodes[-1]["result_type"]
    st = FixedType.parse(score_t)
    raws = sorted(int(v) for v in rng.integers(st.int_min, st.int_max + 1, 3))
    g = {"format": "trigger-design/2", "name": f"fuzz{'conv' if conv else ''}{'bn' if batchnorm else ''}{seed}", "inputs": inputs, "scaling": scaling, "nodes": nodes,
         "score": "score", "thresholds": [{"name": f"t{k}", "raw": r} for k, r in enumerate(raws)]}
    g = finer(g, seed) if fine else g
    return coarser(g, seed) if coarse else g
