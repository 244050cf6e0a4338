"""hls4ml HLS C++ project of the encoder + score, wrapped with the input scaling and the threshold compare."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.design import Design
from trigger.design import ConversionError
from trigger.firmware.templates import render_tree

PROJECT = "myproject"
CSIM_LIB = "libtrigger_csim.so"


def _act_name(L) -> str:
    return f"{L.name}_act"


def keras_model(design: Design):
    """The design's dense layers as a float Keras model (weights exact: at most 24 bits each), for hls4ml."""
    import tensorflow as tf

    inp = tf.keras.Input(shape=(design.n_inputs,), name="scaled_input")
    x = inp
    for L in design.layers:
        dense = tf.keras.layers.Dense(L.n_out, name=L.name)
        x = dense(x)
        dense.set_weights([(L.weight * L.weight_type.lsb).astype(np.float32), (L.bias * L.bias_type.lsb).astype(np.float32)])
        x = tf.keras.layers.Activation(L.activation, name=_act_name(L))(x)
    return tf.keras.Model(inp, x, name=design.name)


def hls_config(cfg: Config, design: Design, model) -> dict:
    """hls4ml configuration with every precision set from the design (no default left to hls4ml)."""
    import hls4ml

    hc = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=cfg.firmware.backend)
    hc["Model"].update(Precision="ap_fixed<16,6>", ReuseFactor=cfg.firmware.reuse_factor, Strategy=cfg.firmware.strategy)
    names = hc["LayerName"]
    # every type a value is computed into as FixedType.cpp() spells it: an ap_int accumulator's own conversion of a
    # product wholly below 1 is wrong (seen on a format-1 design: the C simulation differed on every event)
    names["scaled_input"]["Precision"] = {"result": design.scaling.output.cpp()}
    for L in design.layers:
        names[L.name]["Precision"] = {"weight": L.weight_type.hls(), "bias": L.bias_type.hls(), "accum": L.accum_type.cpp(),
                                      "result": L.result_type.cpp()}
        # hls4ml gives each Dense a linear activation of its own: no cast there (removed), ours casts
        names.setdefault(f"{L.name}_linear", {})["Precision"] = {"result": L.result_type.cpp()}
        names[_act_name(L)]["Precision"] = {"result": L.activation_type.cpp()}
    for name, layer in names.items():
        for k, v in layer.get("Precision", {}).items():
            if v == "auto":
                raise ConversionError(f"hls4ml precision left on 'auto' for {name}.{k}")
    return hc


def convert(cfg: Config, design: Design, out: Path, weights_txt: bool = True):
    """hls4ml's project of the design's dense layers; weights_txt=False compiles the weights in outside
    synthesis too (no .txt files read at run time: what a CMSSW plug-in needs)."""
    import hls4ml

    model = keras_model(design)
    hc = hls_config(cfg, design, model)
    try:
        hm = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=hc,
            output_dir=str(out),
            project_name=PROJECT,
            backend=cfg.firmware.backend,
            part=cfg.firmware.part,
            clock_period=round(cfg.firmware.clock_period_ns, 4),
            io_type=cfg.firmware.io_type,
            write_weights_txt=weights_txt,
        )
    except Exception as exc:  # hls4ml raises bare Exceptions naming the layer
        raise ConversionError(f"hls4ml could not convert the design: {exc}") from exc
    return hm


def _top_types(out: Path) -> tuple[str, str]:
    """C++ types of the input and output arguments of the generated network function."""
    header = (out / "firmware" / f"{PROJECT}.h").read_text()
    m = re.search(rf"void {PROJECT}\s*\((.*?)\);", header, re.S)
    if not m:
        raise ConversionError(f"cannot find the top function in {PROJECT}.h")
    args = [a.strip() for a in m.group(1).split(",")]
    if len(args) != 2:
        raise ConversionError(f"unexpected top function arguments: {args}")
    return tuple(a.split()[0] for a in args)


def _scaling_lines(design: Design) -> str:
    s = design.scaling
    lines = []
    for i, w in enumerate(design.inputs):
        off = repr(float(s.offset[i] * s.offset_type.lsb))
        lines.append(f"    {{  // {w.name}\n        {w.type.hls()} w;\n        w.range() = words[{i}].range({w.type.width - 1}, 0);\n"
                     f"        trigger_mid_t d = w - trigger_offset_t({off});\n        d = d >> ({int(s.shift[i])});\n        x[{i}] = d;\n    }}")
    return "\n".join(lines)


def _threshold_lines(design: Design) -> str:
    t = design.score_type
    lines = []
    for k, raw in enumerate(design.threshold_raw()):
        if raw <= t.int_min:
            lines.append(f"    bits[{k}] = 1;  // {design.thresholds[k].name}: at or below the score's minimum")
        elif raw > t.int_max:
            lines.append(f"    bits[{k}] = 0;  // {design.thresholds[k].name}: above the score's maximum")
        else:
            lines.append(f"    {{  // {design.thresholds[k].name}\n        trigger_score_t t;\n"
                         f"        t.range() = ap_uint<{t.width}>(TRIGGER_THRESHOLDS_RAW[{k}]);\n        bits[{k}] = score[0] >= t ? 1 : 0;\n    }}")
    return "\n".join(lines) or "    (void)bits;"


_FORMAT1_SCORE = """    {project}(x, mu);

    trigger_score_t terms[TRIGGER_N_LATENT];
#pragma HLS ARRAY_PARTITION variable = terms complete
    for (int j = 0; j < TRIGGER_N_LATENT; j++) {{
#pragma HLS UNROLL
        trigger_square_t sq = mu[j] * mu[j];
        terms[j] = sq;
    }}
    nnet::Op_add<trigger_score_t> add;
    score[0] = nnet::reduce<trigger_score_t, TRIGGER_N_LATENT, nnet::Op_add<trigger_score_t> >(terms, add);"""


def write_hls(cfg: Config, design: Design, out: Path, weights_txt: bool = True) -> object:
    """Write build/hls: the network (hls4ml's converter for format-1 designs, the node-by-node graph for format 2),
    the trigger wrapper, thresholds and vendor scripts. weights_txt: as in convert()."""
    from trigger.design import FORMAT

    if out.exists():
        shutil.rmtree(out)
    s = design.scaling
    if design.format == FORMAT:
        hm = convert(cfg, design, out, weights_txt)
        hm.write()
        in_t, mu_t = _top_types(out)
        network = _FORMAT1_SCORE.format(project=PROJECT)
        kind = "hls4ml dense layers; score = nnet::reduce of cast(sum_t, cast(square_t, mu*mu))"
        square_t, score_t = design.score.square_type.hls(), design.score.sum_type.hls()
    else:
        from trigger.firmware.hls_graph import copy_hls4ml_headers, write_graph

        hm = None
        copy_hls4ml_headers(out / "firmware")
        in_t, mu_t, _ = write_graph(design, out / "firmware")
        network = f"    {PROJECT}(x, mu, score);"
        kind = f"the design's graph node by node in firmware/{PROJECT}.cpp; score = node {design.score_node.name!r}"
        square_t, score_t = design.score_type.hls(), design.score_type.hls()
    names = ", ".join(f"{t.name} {t.raw}" for t in design.thresholds) or "none"
    values = {
        "PROJECT": PROJECT,
        "NAME": design.name,
        "N_INPUTS": design.n_inputs,
        "N_LATENT": design.latent,
        "N_THRESHOLDS": max(len(design.thresholds), 1),
        "WORD_BITS": max(i.type.width for i in design.inputs),
        "OFFSET_T": s.offset_type.hls(),
        "MID_T": s.intermediate.cpp(),
        "INPUT_T": in_t,
        "MU_T": mu_t,
        "SQUARE_T": square_t,
        "SCORE_T": score_t,
        "SCORE_FRAC": design.score_type.frac,
        "SCALING": _scaling_lines(design),
        "NETWORK_AND_SCORE": network,
        "NETWORK_KIND": kind,
        "THRESHOLDS": ", ".join(str(int(x)) for x in design.threshold_raw()) or "0",
        "THRESHOLD_LIST": names,
        "PART": cfg.firmware.part,
        "CLOCK_NS": f"{cfg.firmware.clock_period_ns:.4f}",
        "BACKEND": cfg.firmware.backend,
    }
    values["THRESHOLD_CODE"] = _threshold_lines(design)
    render_tree("hls", out, values)
    return hm


# upstream gap: hls4ml 1.3 writes a random stamp and the absolute output path into its project and has no option
# to set them; these are the only edits of its output
def fix_stamp(out: Path, design: Design) -> None:
    """hls4ml stamps each write with a random id; replace it with one derived from the design, so the
    same design gives byte-identical files."""
    if not (out / "hls4ml_config.yml").exists():  # a graph design's project is ours alone: nothing random in it
        return
    m = re.search(r"^Stamp:\s*'?([0-9a-f]+)'?\s*$", (out / "hls4ml_config.yml").read_text(), re.M)
    if not m:
        return
    old = m.group(1)

    # the build folder's absolute path is no part of the design: keep the project relocatable
    cfg_file = out / "hls4ml_config.yml"
    new = design.sha256()[: len(old)]
    text = re.sub(r"^OutputDir:.*$", "OutputDir: .", cfg_file.read_text(), flags=re.M)
    # YAML quotes a random stamp only when it looks like a number: write the line whole, always quoted
    text = re.sub(r"^Stamp:.*$", f"Stamp: '{new}'", text, flags=re.M)
    cfg_file.write_text(re.sub(r"^KerasModel: !keras_model '.*/(keras_model\.keras)'", r"KerasModel: !keras_model '\1'", text, flags=re.M))
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".sh", ".cpp", ".h", ".tcl", ".json"):
            text = path.read_text()
            if old in text:
                path.write_text(text.replace(old, new))
        if path.is_file() and old in path.name:
            path.rename(path.with_name(path.name.replace(old, new)))


def _csim_lib(out: Path) -> Path:
    """The library's name carries a hash of the sources: a process that loaded an earlier build (dlopen
    caches by path) can never be handed stale weights or thresholds."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(out.glob("*.cpp")) + sorted(out.glob("*.h")) + sorted((out / "firmware").glob("*.[ch]*")) + sorted((out / "firmware" / "weights").glob("*.h")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return out / f"{CSIM_LIB[:-3]}-{h.hexdigest()[:12]}.so"


_INIT = re.compile(r"^\s*\w+\s+(\w+)\[\d+\]\s*=\s*\{([^}]*)\};", re.M)


def header_weights(out: Path) -> dict[str, str]:
    """The weight and bias values synthesis reads: each firmware/weights/*.h initialiser, as text."""
    found = {}
    for h in sorted((out / "firmware" / "weights").glob("*.h")):
        m = _INIT.search(h.read_text())
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def weight_files_disagree(out: Path) -> list[str]:
    """hls4ml writes every weight twice: .h (synthesis) and .txt (its C simulation); names those that differ."""
    bad = []
    for name, text in header_weights(out).items():
        txt = out / "firmware" / "weights" / f"{name}.txt"
        values = lambda s: [float(x) for x in s.replace("\n", ",").split(",") if x.strip()]  # noqa: E731
        if not txt.exists() or values(txt.read_text()) != values(text):
            bad.append(f"{name}.txt differs from {name}.h")
    return bad


def compile_csim(out: Path) -> Path:
    """Compile the whole firmware function (scaling + hls4ml network + compare) with g++ for C simulation.

    The network loads its weights at run time outside synthesis; we hand it the values of the .h files
    (what synthesis compiles in), written to csim_weights/, so the C simulation checks the synthesised weights."""
    lib = _csim_lib(out)
    for old in out.glob(f"{CSIM_LIB[:-3]}*.so"):
        old.unlink()
    wdir = out / "csim_weights"
    shutil.rmtree(wdir, ignore_errors=True)
    wdir.mkdir()
    for name, text in header_weights(out).items():
        (wdir / f"{name}.txt").write_text(text + "\n")
    # -O1: the default design's C simulation compiles in 9.4 s instead of 13.4 s (-O2) and runs as fast (11.7 s per
    # 100k events either way; -O0 takes 285 s), with identical outputs. One translation unit that includes the three
    # sources (fed on stdin): ap_types and nnet_utils are parsed once, not three times (7.4 s of CPU against 10.8 s).
    # -DNDEBUG: ap_types asserts on a cast whose source lies wholly more than one bit below the target's LSB (it reads
    # a bit past the MSB, then uses the sign instead): the assert killed the Python process; without it the library
    # computes what it means to, equal to the emulator (random DAGs in bench/fuzz_graphs.py). Vitis's own C simulation
    # of such a design stops at that assert (docs/troubleshooting.md).
    sources = [out / "trigger_csim.cpp", out / "trigger_top.cpp", out / "firmware" / f"{PROJECT}.cpp"]
    unity = "".join(f'#include "{src.resolve()}"\n' for src in sources)
    cmd = [
        os.environ.get("CXX", "g++"), "-O1", "-DNDEBUG", "-std=c++14", "-fPIC", "-shared", "-fno-strict-aliasing",
        "-I", str(out / "firmware"), "-I", str(out / "firmware" / "ap_types"),
        f'-DWEIGHTS_DIR="{wdir.resolve()}"', "-x", "c++", "-", "-o", str(lib),
    ]
    res = subprocess.run(cmd, input=unity, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"g++ failed to compile the C simulation:\n{res.stderr[-4000:]}")
    return lib


class CSim:
    """The compiled firmware function, called on (N, 57) integer words."""

    def __init__(self, hls_dir: Path, n_inputs: int, n_latent: int, n_rates: int):
        lib = _csim_lib(Path(hls_dir))
        if not lib.exists():
            compile_csim(Path(hls_dir))
        self._lib = ctypes.CDLL(str(lib.resolve()))
        self._fn = self._lib.trigger_csim
        self.n_inputs, self.n_latent, self.n_rates = n_inputs, n_latent, n_rates

    def run(self, words: np.ndarray):
        w = np.ascontiguousarray(words, dtype=np.int64)
        if w.ndim != 2 or w.shape[1] != self.n_inputs:
            raise ValueError(f"expected (N, {self.n_inputs}) words, got {w.shape}")
        n = len(w)
        mu = np.zeros((n, self.n_latent), np.int64)
        score = np.zeros(n, np.int64)
        bits = np.zeros((n, max(self.n_rates, 1)), np.int8)
        p = lambda a, t: a.ctypes.data_as(ctypes.POINTER(t))  # noqa: E731
        self._fn(p(w, ctypes.c_int64), ctypes.c_int64(n), p(mu, ctypes.c_int64), p(score, ctypes.c_int64), p(bits, ctypes.c_int8))
        return mu, score, bits[:, : self.n_rates].astype(np.int64)
