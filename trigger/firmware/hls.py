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
from trigger.firmware.network import ConversionError, Network
from trigger.firmware.templates import render_tree
from trigger.fixed import FixedType

PROJECT = "myproject"
CSIM_LIB = "libtrigger_csim.so"


def _p(t: FixedType) -> str:
    return t.hls()


def hls_config(cfg: Config, net: Network, model) -> dict:
    """hls4ml configuration with every precision set from the network description (no defaults left)."""
    import hls4ml

    hc = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=cfg.firmware.backend)
    hc["Model"].update(Precision="ap_fixed<16,6>", ReuseFactor=cfg.firmware.reuse_factor, Strategy=cfg.firmware.strategy)
    names = hc["LayerName"]
    names["scaled_input"]["Precision"] = {"result": _p(net.input_type)}
    names["input_quant"]["Precision"] = {"result": _p(net.input_type)}
    for i, layer in enumerate(net.layers):
        acc = _p(layer.accum_type)
        prec = {"weight": _p(layer.weight_type), "bias": _p(layer.bias_type), "accum": acc}
        if layer.activation == "relu":
            names[layer.name]["Precision"] = prec | {"result": acc}
            names.setdefault(f"{layer.name}_linear", {})["Precision"] = {"result": acc}
            names[f"relu{i}"]["Precision"] = {"result": _p(layer.result_type)}
        else:
            names[layer.name]["Precision"] = prec | {"result": _p(layer.result_type)}
            names.setdefault(f"{layer.name}_linear", {})["Precision"] = {"result": _p(layer.result_type)}
            names["mu"]["Precision"] = {"result": _p(layer.result_type)}
    names["mu_squared"]["Precision"] = {"result": _p(net.square_type)}
    score_acc = FixedType(net.score_type.width + 1, net.score_type.integer + 1, signed=True)
    names["score"]["Precision"] = {"weight": "ap_fixed<2,2>", "bias": "ap_fixed<2,2>", "accum": _p(score_acc), "result": _p(score_acc)}
    names.setdefault("score_linear", {})["Precision"] = {"result": _p(score_acc)}
    for layer in names.values():
        for k, v in layer.get("Precision", {}).items():
            if v == "auto":
                raise ConversionError(f"hls4ml precision left on 'auto' for {k}")
    return hc


def convert(cfg: Config, net: Network, model, out: Path):
    import hls4ml

    hc = hls_config(cfg, net, model)
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
        )
    except Exception as exc:  # hls4ml raises bare Exceptions naming the layer
        raise ConversionError(f"hls4ml could not convert the model: {exc}") from exc
    return hm


def _top_signature(out: Path) -> tuple[str, str, str]:
    """Names of the input, mu and score arguments of the generated top function."""
    header = (out / "firmware" / f"{PROJECT}.h").read_text()
    m = re.search(rf"void {PROJECT}\s*\((.*?)\);", header, re.S)
    if not m:
        raise ConversionError(f"cannot find the top function in {PROJECT}.h")
    args = [a.strip() for a in m.group(1).split(",")]
    names = [re.search(r"(\w+)\s*\[", a).group(1) for a in args]
    types = [a.split()[0] for a in args]
    if len(names) != 3:
        raise ConversionError(f"unexpected top function arguments: {args}")
    return names, types


def write_hls(cfg: Config, net: Network, model, out: Path) -> object:
    """Write build/hls: the hls4ml project, the trigger wrapper, thresholds and vendor scripts."""
    if out.exists():
        shutil.rmtree(out)
    hm = convert(cfg, net, model, out)
    hm.write()
    names, types = _top_signature(out)
    fmt = lambda xs: ", ".join(str(int(x)) for x in xs)  # noqa: E731
    word_w = max(w for w, _ in net.word_bits) + 1
    values = {
        "PROJECT": PROJECT,
        "N_INPUTS": len(net.word_bits),
        "N_LATENT": net.latent,
        "N_RATES": len(net.thresholds),
        "WORD_BITS": word_w,
        "OFFSETS": fmt(net.scaling.offset),
        "SHIFTS": fmt(net.scaling.shift),
        "SCALE_FRAC": int(max(net.scaling.shift.max(initial=0), 0)),
        "INPUT_T": types[0],
        "MU_T": types[1],
        "SCORE_T": types[2],
        "SCORE_FRAC": net.score_type.frac,
        "THRESHOLDS": fmt(t["threshold_int"] for t in net.thresholds) or "0",
        "RATES": ", ".join(f"{t['rate_khz']:g}" for t in net.thresholds),
        "PART": cfg.firmware.part,
        "CLOCK_NS": f"{cfg.firmware.clock_period_ns:.4f}",
        "BACKEND": cfg.firmware.backend,
    }
    render_tree("hls", out, values)
    return hm


def fix_stamp(out: Path, net: Network) -> None:
    """hls4ml stamps each write with a random id; replace it with one derived from the network, so the
    same model gives byte-identical files."""
    import hashlib
    import json

    from trigger.firmware.network import network_to_dict

    m = re.search(r"^Stamp:\s*'?([0-9a-f]+)'?\s*$", (out / "hls4ml_config.yml").read_text(), re.M)
    if not m:
        return
    old = m.group(1)

    # the build folder's absolute path is no part of the design: keep the project relocatable
    cfg_file = out / "hls4ml_config.yml"
    new = hashlib.sha256(json.dumps(network_to_dict(net), sort_keys=True).encode()).hexdigest()[: len(old)]
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


def compile_csim(out: Path) -> Path:
    """Compile the whole firmware function (scaling + hls4ml network + compare) with g++ for C simulation."""
    lib = _csim_lib(out)
    for old in out.glob(f"{CSIM_LIB[:-3]}*.so"):
        old.unlink()
    cmd = [
        os.environ.get("CXX", "g++"), "-O2", "-std=c++14", "-fPIC", "-shared", "-fno-strict-aliasing",
        "-I", str(out / "firmware"), "-I", str(out / "firmware" / "ap_types"),
        f'-DWEIGHTS_DIR="{(out / "firmware" / "weights").resolve()}"',
        str(out / "trigger_csim.cpp"), str(out / "trigger_top.cpp"), str(out / "firmware" / f"{PROJECT}.cpp"),
        "-o", str(lib),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
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
