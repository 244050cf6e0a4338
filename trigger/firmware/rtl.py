"""Verilog RTL of the same network with da4ml: trace scaling, encoder, score and comparators, then pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.firmware.network import Network
from trigger.firmware.templates import render_tree
from trigger.fixed import FixedType

TOP = "trigger_core"  # da4ml's pipelined core
WRAPPER = "trigger_top"  # our reset/valid wrapper around it


def _kif(t: FixedType):
    return int(t.signed), t.integer - int(t.signed), t.frac


def _round_sat(x, t: FixedType):
    """Quantise a traced array to `t`. da4ml rounds TRN or RND (half up) only; RND_CONV is built from them:
    add half an LSB minus one input step, plus one step back when the kept LSB is odd, then truncate."""
    k, i, f = _kif(t)
    kx, ix, fx = (np.asarray(a) for a in x.kif)
    if t.rounding == "RND_CONV" and (fx > f).any():
        step = 2.0 ** -fx.astype(np.float64)
        trunc = x.quantize(kx, ix, np.full_like(fx, f), "WRAP", "TRN")
        coarse = x.quantize(kx, ix, np.full_like(fx, f - 1), "WRAP", "TRN")
        odd = (trunc - coarse) * (2.0**f * step)  # 0, or one input step if the kept LSB is 1
        fine = fx > f
        x = x + np.where(fine, 2.0 ** (-f - 1) - step, 0.0) + odd * fine.astype(np.float64)
        rounding = "TRN"
    else:
        rounding = "RND" if t.rounding == "RND" else "TRN"
    return x.quantize(k, i, f, t.overflow, rounding)


def trace(net: Network):
    """The full firmware function as a da4ml combinational graph: outputs are mu..., score, bits..."""
    from da4ml.trace import FixedVariableArrayInput, HWConfig, comb_trace

    n = len(net.word_bits)
    inp = FixedVariableArrayInput(n, hwconf=HWConfig(1, -1, -1))
    signed = np.array([s for _, s in net.word_bits], dtype=np.int64)
    width = np.array([w for w, _ in net.word_bits], dtype=np.int64)
    x = inp.quantize(signed, width - signed, np.zeros(n, dtype=np.int64))
    x = (x - net.scaling.offset.astype(np.float64)) * np.exp2(-net.scaling.shift.astype(np.float64))
    x = _round_sat(x, net.input_type)
    for layer in net.layers:
        w = layer.weight.astype(np.float64) * layer.weight_type.lsb
        b = layer.bias.astype(np.float64) * layer.bias_type.lsb
        x = x @ w + b
        if layer.activation == "relu":
            x = x.relu()
        x = _round_sat(x, layer.result_type)
    mu = x
    score = np.sum(mu * mu)
    lsb = net.score_type.lsb
    bits = []
    for t in net.thresholds:
        thr = t["threshold_int"] * lsb
        bits.append(score > thr - lsb)  # scores lie on the LSB grid: score > thr - lsb  <=>  score >= thr
    outputs = [*np.ravel(mu._vars), score, *bits]
    return inp, comb_trace(inp, outputs)


def io_fields(comb) -> tuple[list[dict], list[dict]]:
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
    return fields(kin, _input_names(len(kin[0]))), fields(kout, [""] * len(kout[0]))


def _input_names(n):
    from trigger.data.layout import FEATURE_NAMES

    return FEATURE_NAMES[:n]


def _core_latency(core_v: Path) -> int:
    """Clock edges from model_inp to model_out: one per register in the core's always block."""
    text = core_v.read_text()
    block = text[text.index("always @(posedge clk)") :]
    return block[: block.index("end")].count("<=")


def choose_cutoff(comb, cfg: Config) -> float:
    """Spread the combinational delay over the cycles the budget allows (input and output registers included)."""
    fw = cfg.firmware
    if fw.latency_cutoff is not None:
        return fw.latency_cutoff
    stages = fw.max_latency_cycles - 1  # the core registers its input and every stage's output
    if stages < 1:
        raise ValueError(f"a latency budget of {fw.max_latency_cycles} cycles cannot hold a registered pipeline")
    total = float(comb.latency[1])
    return max(total / max(stages - 1, 1), 1e-3) * (1 + 1e-6)


def write_rtl(cfg: Config, net: Network, out: Path, comb=None) -> dict:
    """Write build/rtl: da4ml Verilog core, our top with reset and valid, and the port description."""
    from da4ml.codegen import VerilogModel

    if out.exists():
        shutil.rmtree(out)
    if comb is None:
        _, comb = trace(net)
    fw = cfg.firmware
    cutoff = choose_cutoff(comb, cfg)
    model = VerilogModel(comb, TOP, out, latency_cutoff=cutoff, clock_period=fw.clock_period_ns, print_latency=False, part_name=fw.part)
    model.write()
    latency = _core_latency(out / "src" / f"{TOP}.v")
    inputs, outputs = io_fields(model._pipe if model._pipe is not None else comb)
    n_mu, n_rates = net.latent, len(net.thresholds)
    for o, name in zip(outputs, [f"mu{j}" for j in range(n_mu)] + ["score"] + [f"trigger_{t['rate_khz']:g}khz" for t in net.thresholds]):
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
        "pipeline_stages": len(model._pipe.solutions) if model._pipe is not None else 0,
        "control": {"clk": "clk", "rst": "rst (synchronous, active high)", "valid_in": "valid_in", "valid_out": "valid_out"},
        "words": {"port": "words", "width": in_w, "fields": inputs},
        "outputs": {
            "mu": {"port": "mu", "fields": outputs[:n_mu]},
            "score": {"port": "score", "fields": [outputs[n_mu]]},
            "trigger_bits": {"port": "trigger_bits", "fields": outputs[n_mu + 1 :]},
        },
        "da4ml_cost": float(comb.cost),
        # every Verilog file but da4ml's lookup-table helper, which this design does not use
        "verilog_sources": sorted(str(p.relative_to(out)) for p in (out / "src").rglob("*.v") if p.name != "lookup_table.v"),
    }
    from trigger.io_utils import write_json

    write_json(out / "ports.json", ports)
    return ports
