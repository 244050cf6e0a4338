"""HLS C++ of a `trigger-design/2` graph: one block per node, in the design's order, with the semantics of the
hls4ml layer of that name (trigger/design/graph.py) written out with every type explicit.

hls4ml's Keras converter has no layer for every node kind (a sum over a tensor, a dot whose accumulator must be
set), so the graph is written here, in the project's `firmware/myproject.cpp`, with hls4ml's ap_types and its
`nnet::reduce` for the balanced tree. Format-1 designs keep going through hls4ml's converter (hls.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from trigger.design import Design

PROJECT = "myproject"


def _ident(name: str) -> str:
    return "t_" + "".join(c if c.isalnum() else "_" for c in name)


def _values(raw: np.ndarray, lsb: float) -> str:
    return ", ".join(repr(float(v) * lsb) for v in np.ravel(raw))


def _node_code(d: Design, n, ids: dict[str, str]) -> tuple[list[str], list[str]]:
    """(declarations at file scope, statements inside the function) for one node."""
    me, t = ids[n.name], f"{ids[n.name]}_t"
    a = ids[n.inputs[0]]
    decl = [f"typedef {n.type.cpp()} {t};"]
    body = [f"    // {n.op} {n.name}", f"    {t} {me}[{n.size}];", f"#pragma HLS ARRAY_PARTITION variable = {me} complete"]
    if n.op in ("dense", "conv2d"):
        acc = f"{me}_acc_t"
        k, m = n.weight.shape
        decl += [f"typedef {n.accum_type.cpp()} {acc};", f"typedef {n.weight_type.hls()} {me}_w_t;", f"typedef {n.bias_type.hls()} {me}_b_t;",
                 f"static const {me}_w_t {me}_w[{k}][{m}] = {{{_values(n.weight, n.weight_type.lsb)}}};",
                 f"static const {me}_b_t {me}_b[{m}] = {{{_values(n.bias, n.bias_type.lsb)}}};"]
        inner = [f"        {acc} acc = ({acc}){me}_b[j];", f"        for (int i = 0; i < {k}; i++) {{", "#pragma HLS UNROLL",
                 f"            {acc} p = {a}[i] * {me}_w[i][j];", "            acc += p;", "        }", f"        {me}[j] = ({t})acc;"]
        if n.op == "conv2d":  # the dense accumulation on every patch; patch q's kernel values (kh, kw, c order): idx[q][i]
            idx = n.patches()
            decl.append(f"static const int {me}_idx[{len(idx)}][{k}] = {{{', '.join(map(str, idx.ravel()))}}};")
            inner = [ln.replace(f"{a}[i]", f"{a}[{me}_idx[q][i]]").replace(f"{me}[j]", f"{me}[q * {m} + j]") for ln in inner]
            body += [f"    for (int q = 0; q < {len(idx)}; q++) {{", "#pragma HLS UNROLL"]
        body += [f"    for (int j = 0; j < {m}; j++) {{", "#pragma HLS UNROLL", *inner, "    }"] + (["    }"] if n.op == "conv2d" else [])
        return decl, body
    loop = f"    for (int i = 0; i < {d.tensor_size(n.inputs[0])}; i++) {{"
    if n.op == "relu":
        body += [loop, "#pragma HLS UNROLL", f"        if ({a}[i] > 0) {me}[i] = ({t}){a}[i]; else {me}[i] = 0;", "    }"]
    elif n.op == "linear":
        body += [loop, "#pragma HLS UNROLL", f"        {me}[i] = ({t}){a}[i];", "    }"]
    elif n.op == "batchnorm":  # nnet::normalize's arithmetic: the exact product plus the bias, one cast
        m = len(n.weight)
        decl += [f"typedef {n.weight_type.hls()} {me}_s_t;", f"typedef {n.bias_type.hls()} {me}_b_t;",
                 f"static const {me}_s_t {me}_s[{m}] = {{{_values(n.weight, n.weight_type.lsb)}}};",
                 f"static const {me}_b_t {me}_b[{m}] = {{{_values(n.bias, n.bias_type.lsb)}}};"]
        body += [loop, "#pragma HLS UNROLL", f"        {me}[i] = ({t})({a}[i] * {me}_s[i % {m}] + {me}_b[i % {m}]);", "    }"]
    elif n.op == "square":
        body += [loop, "#pragma HLS UNROLL", f"        {me}[i] = ({t})({a}[i] * {a}[i]);", "    }"]
    elif n.op in ("add", "subtract", "multiply"):
        b, sym = ids[n.inputs[1]], {"add": "+", "subtract": "-", "multiply": "*"}[n.op]
        body += [loop, "#pragma HLS UNROLL", f"        {me}[i] = ({t})({a}[i] {sym} {b}[i]);", "    }"]
    elif n.op in ("maximum", "minimum"):  # nnet::maximum / minimum: compare the uncast values, cast the one kept
        b, cmp = ids[n.inputs[1]], ">" if n.op == "maximum" else "<"
        body += [loop, "#pragma HLS UNROLL", f"        {me}[i] = ({a}[i] {cmp} {b}[i]) ? ({t}){a}[i] : ({t}){b}[i];", "    }"]
    elif n.op == "sum":
        size = d.tensor_size(n.inputs[0])
        body += [f"    {t} {me}_terms[{size}];", f"#pragma HLS ARRAY_PARTITION variable = {me}_terms complete",
                 loop, "#pragma HLS UNROLL", f"        {me}_terms[i] = {a}[i];", "    }",
                 f"    nnet::Op_add<{t}> {me}_add;",
                 f"    {me}[0] = nnet::reduce<{t}, {size}, nnet::Op_add<{t}> >({me}_terms, {me}_add);"]
    elif n.op == "dot":
        acc, b = f"{me}_acc_t", ids[n.inputs[1]]
        decl.append(f"typedef {n.accum_type.cpp()} {acc};")
        body += ["    {", f"        {acc} acc = 0;", loop.replace("    for", "        for"), "#pragma HLS UNROLL",
                 f"            {acc} p = {a}[i] * {b}[i];", "            acc += p;", "        }", f"        {me}[0] = ({t})acc;", "    }"]
    else:
        raise ValueError(f"node {n.name!r}: the HLS generator cannot build a {n.op!r} node")
    return decl, body


def write_graph(design: Design, firmware: Path) -> tuple[str, str]:
    """Write firmware/myproject.{h,cpp} and defines.h for the graph; returns the C++ types of its input and exposed tensor."""
    ids = {"input": "x"} | {n.name: _ident(n.name) for n in design.nodes}
    decls, body = [], []
    for n in design.nodes:
        dc, bd = _node_code(design, n, ids)
        decls += dc
        body += bd
    in_t, mu_t, score_t = "input_t", f"{ids[design.exposed]}_t" if design.exposed != "input" else "input_t", f"{ids[design.score_node.name]}_t"
    firmware.mkdir(parents=True, exist_ok=True)
    (firmware / "defines.h").write_text(
        "// Generated by trigger (trigger/firmware/hls_graph.py) from the design; do not edit by hand.\n"
        "#ifndef DEFINES_H_\n#define DEFINES_H_\n#include \"ap_fixed.h\"\n#include \"ap_int.h\"\n"
        f"typedef {design.scaling.output.cpp()} input_t;\n" + "\n".join(d for d in decls if d.startswith("typedef")) + "\n#endif\n")
    sig = f"void {PROJECT}(const input_t x[{design.n_inputs}], {mu_t} mu[{design.latent}], {score_t} score[1])"
    (firmware / f"{PROJECT}.h").write_text(f"// Generated from the design {design.name!r}; do not edit by hand.\n#ifndef MYPROJECT_H_\n"
                                           f"#define MYPROJECT_H_\n#include \"defines.h\"\n{sig};\n#endif\n")
    weights = "\n".join(d for d in decls if not d.startswith("typedef"))
    src = [f"// The graph of design {design.name!r}, node by node (semantics: trigger/design/graph.py); generated, do not edit.",
           f'#include "{PROJECT}.h"', '#include "nnet_utils/nnet_common.h"', "", weights, "", sig + " {", "#pragma HLS PIPELINE II = 1",
           "#pragma HLS ARRAY_PARTITION variable = x complete", "#pragma HLS ARRAY_PARTITION variable = mu complete", *body,
           f"    for (int i = 0; i < {design.latent}; i++) mu[i] = {ids[design.exposed]}[i];",
           f"    score[0] = {ids[design.score_node.name]}[0];", "}", ""]
    (firmware / f"{PROJECT}.cpp").write_text("\n".join(src))
    return in_t, mu_t, score_t


def copy_hls4ml_headers(firmware: Path) -> None:
    """hls4ml's ap_types and nnet_utils, as its own projects carry them."""
    import hls4ml

    root = Path(hls4ml.__file__).parent / "templates" / "vivado"
    for sub in ("ap_types", "nnet_utils"):
        shutil.copytree(root / sub, firmware / sub, dirs_exist_ok=True)
