"""Verilog RTL of the same network with da4ml: trace scaling, encoder, score and comparators, then pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.design import Design
from trigger.firmware.cmvm import matmul
from trigger.firmware.templates import render_tree
from trigger.firmware.traced_ops import above, add, add_const, cast, const, exact_decimals, kif, mul, relu, square, times_const
from trigger.firmware.warm import kernels_ready
from trigger.design.fixed import FixedType

TOP = "trigger_core"  # da4ml's pipelined core
WRAPPER = "trigger_top"  # our reset/valid wrapper around it


class RTLBuildError(ValueError):
    """A node the RTL generator cannot build exactly; the message names it."""


def elements(x) -> list:
    """The FixedVariables of a traced array, flat, through its public indexing."""
    flat = x.ravel()
    return [flat[i] for i in range(flat.size)]


def _cast_all(x, t: FixedType):
    from da4ml.trace import FixedVariableArray

    return FixedVariableArray(np.array([cast(v, t) for v in elements(x)]).reshape(x.shape), x.solver_options)


def _dense(x, n, proof):
    """One hls4ml latency dense node. Where every product, the bias and every partial sum are exact in accum_t
    (or it wraps, order-free), one constant-matrix multiply (da4ml's CMVM); otherwise cast by cast in hls4ml's
    order: slower logic, the same bits."""
    acc = n.accum_type
    w = n.weight.astype(np.float64) * n.weight_type.lsb
    b = n.bias.astype(np.float64) * n.bias_type.lsb
    if proof.summed:  # one CMVM: da4ml's x @ w, its search run by cmvm.py (not compiling da4ml's parallel solve)
        y = [add_const(v, float(bj)) for v, bj in zip(elements(x @ w) if x.collapsed else matmul(elements(x), w), b)]
        if not proof.acc_never_overflows:
            y = [cast(v, acc) for v in y]
    else:
        xs = elements(x)
        y = []
        for j in range(n.weight.shape[1]):
            total = cast(const(b[j], xs[0]), acc)
            for i in range(n.weight.shape[0]):
                total = cast(add(total, cast(times_const(xs[i], w[i, j]), acc)), acc)
            y.append(total)
    return [cast(v, n.type) for v in y]


def _tree(vals: list, t: FixedType):
    """hls4ml's nnet::reduce: a balanced tree, every addition cast to t."""
    n = len(vals)
    if n == 1:
        return vals[0]
    if n == 2:
        return cast(add(vals[0], vals[1]), t)
    left = 1 << ((n - 1).bit_length() - 1)
    return cast(add(_tree(vals[:left], t), _tree(vals[left:], t)), t)


def _node(n, args: list[list], arrays: dict, analysis, square_in: str = "dsp") -> list:
    """One graph node as traced values (lists of da4ml variables); the rules of trigger/design/graph.py. The
    products of a value with itself (square, dot or multiply of one tensor with itself) are a `*` (DSP blocks)
    with square_in dsp, adders with lut."""
    t = n.type

    def times(x, y):
        return square(x) if square_in == "lut" and x is y else mul(x, y)

    if n.op == "dense":
        return _dense(arrays[n.inputs[0]](), n, analysis.dense[n.name])
    a = args[0]
    if n.op == "conv2d":  # the dense rule on every patch, outputs in (oh, ow, f) order
        x = arrays[n.inputs[0]]()
        return [v for row in n.patches() for v in _dense(x[row], n, analysis.dense[n.name])]
    if n.op == "relu":
        return [cast(relu(v), t) for v in a]
    if n.op == "batchnorm":  # constant products and sums, exact in da4ml, then one cast
        sc, b = n.per_element()
        return [cast(add_const(times_const(v, float(si * n.weight_type.lsb)), float(bi * n.bias_type.lsb)), t) for v, si, bi in zip(a, sc, b)]
    if n.op == "linear":
        return [cast(v, t) for v in a]
    if n.op == "square":
        return [cast(times(v, v), t) for v in a]
    if n.op == "sum":
        return [_tree([cast(v, t) for v in a], t)]
    b = args[1]
    if n.op == "add":
        return [cast(add(x, y), t) for x, y in zip(a, b)]
    if n.op == "subtract":
        return [cast(add(x, -y), t) for x, y in zip(a, b)]
    if n.op == "multiply":
        return [cast(times(x, y), t) for x, y in zip(a, b)]
    if n.op == "maximum":  # y + relu(x - y): exact additions and a ReLU, no multiplexer on operands of two scales
        return [cast(add(y, relu(add(x, -y))), t) for x, y in zip(a, b)]
    if n.op == "minimum":
        return [cast(add(x, -relu(add(x, -y))), t) for x, y in zip(a, b)]
    if n.op == "dot":
        # where interval analysis proves no product or partial sum overflows accum_t, those casts are left out:
        # the same bits, and no WRAP on a value past 32 bits, which da4ml 0.5.2 gets wrong (its interpreter and
        # its Verilog both: seen on AXOL1TL v5's 37-bit accumulator)
        acc = n.accum_type
        exact_p = not analysis.overflows(n.name, "products")
        exact_s = not analysis.overflows(n.name, "accum")
        total = None
        for x, y in zip(a, b):
            p = times(x, y)
            if not (exact_p and p.kif[2] <= acc.frac):
                p = cast(p, acc)
            total = p if total is None else (add(total, p) if exact_s else cast(add(total, p), acc))  # acc starts at 0: 0 + p is p
        return [cast(total, t)]
    raise ValueError(f"node {n.name!r}: the RTL generator cannot build a {n.op!r} node")


@kernels_ready()  # da4ml's kernels may be compiling in another process (the warm-up): wait, then load them
def trace(design: Design, square_in: str = "dsp"):
    """The whole design as a da4ml combinational graph: outputs are exposed..., score, bits...; square_in as
    firmware.square_in (how a value times itself is built)."""
    with exact_decimals():
        return _trace(design, square_in)


def _trace(design: Design, square_in: str):
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace

    from trigger.design.intervals import analyse

    analysis = analyse(design)  # decides which dense nodes can be one CMVM
    n = design.n_inputs
    inp = FixedVariableArrayInput(n, hwconf=HWConfig(1, -1, -1))
    kifs = np.array([kif(i.type) for i in design.inputs], dtype=np.int64)
    x = inp.quantize(kifs[:, 0], kifs[:, 1], kifs[:, 2])
    s = design.scaling
    offsets = s.offset.astype(np.float64) * s.offset_type.lsb  # added exactly at any fraction bits (add_const)
    x = FixedVariableArray(np.array([add_const(v, -o) for v, o in zip(elements(x), offsets)]), x.solver_options)
    x = _cast_all(x, s.intermediate)
    # the shift moves raw bits inside the intermediate: right = floor, left = wrap
    x = _cast_all(x * np.exp2(-s.shift.astype(np.float64)), s.intermediate.with_modes())
    x = _cast_all(x, s.output)
    vals = {"input": elements(x)}
    opts = x.solver_options

    def as_array(name):
        return lambda: FixedVariableArray(np.array(vals[name]), opts)

    for node in design.nodes:
        try:
            vals[node.name] = _node(node, [vals[i] for i in node.inputs], {i: as_array(i) for i in node.inputs}, analysis, square_in)
        except ValueError as exc:
            raise RTLBuildError(f"design {design.name!r}: node {node.name!r} ({node.op}): {exc}") from exc
    mu = vals[design.exposed]
    score = vals[design.score_node.name][0]
    sum_t = design.score_type
    bits = []
    for raw in design.threshold_raw():  # scores lie on the LSB grid: score > raw - 1  <=>  score >= raw
        b = above(score, (int(raw) - 1) * sum_t.lsb)
        bits.append(const(b, score) if isinstance(b, float) else b)
    return inp, comb_trace(inp, [*mu, score, *bits])


def io_fields(comb, names: list[str]) -> tuple[list[dict], list[dict]]:
    """Bit layout of the core's packed input and output vectors, from da4ml's own view of each signal."""
    from da4ml.codegen.rtl.rtl_model import get_io_kifs

    def fields(kifs, names):
        out, offset = [], 0
        for name, k, i, f in zip(names, *kifs):
            width = int(max(k + i + f, 0))
            out.append({"name": name, "offset": offset, "width": width, "signed": bool(k), "frac": int(f)})
            offset += width
        return out

    kin, kout = get_io_kifs(comb)
    return fields(kin, names), fields(kout, [""] * len(kout[0]))


def _core_latency(rtl: Path) -> int:
    """Clock edges from model_inp to model_out, from the stage count da4ml records in metadata.json: with one
    register layer, a register before each stage and one after the last."""
    return int(json.loads((rtl / "metadata.json").read_text())["latency"]) + 1


def choose_cutoff(comb, cfg: Config) -> float:
    """Spread the combinational delay over the cycles the budget allows (input and output registers included)."""
    fw = cfg.firmware
    if fw.latency_cutoff is not None:
        return fw.latency_cutoff
    stages = fw.max_latency_cycles - 1  # the core registers its input and every stage's output
    if stages < 1:
        raise ValueError(f"a latency budget of {fw.max_latency_cycles} cycles cannot hold a registered pipeline")
    total = float(comb.latency[1])
    # at least one op's delay (da4ml's unit): below it a shallow design's pipeline gets stages with nothing to do,
    # which da4ml 0.5.2's pipeliner mis-indexes (IndexError in Solution.inp_qint; random graphs): fewer clocks instead
    return max(total / max(stages - 1, 1), 1.0) * (1 + 1e-6)


# long: da4ml's Verilog, our wrapper and the port description are written from one set of widths; kept together so they cannot drift
def write_rtl(cfg: Config, design: Design, out: Path, comb=None) -> dict:
    """Write build/rtl: da4ml Verilog core, our top with reset and valid, and the port description."""
    from da4ml.cmvm.types import Pipeline
    from da4ml.codegen import VerilogModel

    if out.exists():
        shutil.rmtree(out)
    if comb is None:
        _, comb = trace(design, cfg.firmware.square_in)
    fw = cfg.firmware
    cutoff = choose_cutoff(comb, cfg)
    model = VerilogModel(comb, TOP, out, latency_cutoff=cutoff, clock_period=fw.clock_period_ns, print_latency=False, part_name=fw.part)
    model.write()
    pipe = Pipeline.load(out / "model" / "pipeline.json")  # the pipeline da4ml just wrote, for its ports
    # upstream gap: da4ml 0.5.2 has no option to keep a multiplier out of DSP blocks, so its multiplier.v is edited
    if fw.square_in == "lut":  # the squares are the only `*`: tell Vivado to keep them out of DSP blocks
        mult = out / "src" / "static" / "multiplier.v"
        text = mult.read_text()
        if "  wire [BW_BUF - 1:0] buffer;" not in text:
            raise RuntimeError(f"{mult}: da4ml's multiplier changed; cannot mark it use_dsp=no for square_in: lut")
        mult.write_text(text.replace("  wire [BW_BUF - 1:0] buffer;", '  (* use_dsp = "no" *) wire [BW_BUF - 1:0] buffer;'))
    latency = _core_latency(out)
    inputs, outputs = io_fields(pipe, [i.name for i in design.inputs])
    n_mu, n_rates = design.latent, len(design.thresholds)
    for o, name in zip(outputs, [f"mu{j}" for j in range(n_mu)] + ["score"] + [f"trigger_{t.name}" for t in design.thresholds]):
        o["name"] = name
    mu_w = sum(o["width"] for o in outputs[:n_mu])
    score_w = outputs[n_mu]["width"]
    in_w = sum(i["width"] for i in inputs)
    values = {
        "TOP": WRAPPER,
        "CORE": TOP,
        "IN_W": in_w,
        "MU_W": max(mu_w, 1),
        "SCORE_W": max(score_w, 1),
        "N_RATES": max(n_rates, 1),
        "LATENCY": latency,
        "MU_LSB": 0,
        "SCORE_LSB": mu_w,
        "BITS_LSB": mu_w + score_w,
        "OUT_W": sum(o["width"] for o in outputs),
        "CLOCK_NS": f"{fw.clock_period_ns:.4f}",
        "PART": fw.part,
        "SOURCES": " ".join(sorted([str(p.relative_to(out)) for p in (out / "src").rglob("*.v") if p.name != "lookup_table.v"]
                                   + [f"src/{WRAPPER}.v"])),
    }
    render_tree("rtl", out, values)
    ports = {
        "top": WRAPPER,
        "core": TOP,
        "clock_mhz": fw.clock_mhz,
        "clock_period_ns": fw.clock_period_ns,
        "latency_cycles": latency,
        "latency_ns": latency * fw.clock_period_ns,
        "latency_budget_ns": fw.latency_budget_ns,
        "initiation_interval": 1,
        "latency_cutoff": cutoff,
        "pipeline_stages": len(pipe.solutions),
        "control": {"clk": "clk", "rst": "rst (synchronous, active high)", "valid_in": "valid_in", "valid_out": "valid_out"},
        "words": {"port": "words", "width": in_w, "fields": inputs},
        "outputs": {
            "mu": {"port": "mu", "fields": outputs[:n_mu]},
            "score": {"port": "score", "fields": [outputs[n_mu]]},
            "trigger_bits": {"port": "trigger_bits", "fields": outputs[n_mu + 1 :]},
        },
        "da4ml_cost": float(comb.cost),
        "square_in": fw.square_in,
        # every Verilog file but da4ml's lookup-table helper, which this design does not use
        "verilog_sources": sorted(str(p.relative_to(out)) for p in (out / "src").rglob("*.v") if p.name != "lookup_table.v"),
    }
    from trigger.io_utils import write_json

    write_json(out / "ports.json", ports)
    return ports
