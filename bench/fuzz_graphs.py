"""A wider fuzz of graph designs than the tests' fixed-shape generator: random DAGs of every node kind (dense,
relu, linear, add, subtract, multiply, square, sum, dot; conv2d, batchnorm, maximum/minimum with flags) with random types (1-40 bits, integer bits below zero and
past the width, signed or not, every rounding x overflow mode) through every implementation: the emulator's int64
path against its float path, the HLS C simulation (g++, ap_types) and da4ml's graph with both `square_in`s.

    python -m bench.fuzz_graphs --seeds 0-299 --out bench/results/fuzz_graphs.json
    python -m bench.fuzz_graphs --seeds 0-39 --verilog   # also the emitted Verilog, under Verilator
    python -m bench.fuzz_graphs --seeds 0-99 --conv      # image inputs, a conv2d node first
    python -m bench.fuzz_graphs --seeds 0-99 --batchnorm # batchnorm nodes after half the others
    python -m bench.fuzz_graphs --seeds 0-99 --minmax    # maximum/minimum nodes after half the others
    python -m bench.fuzz_graphs --seeds 0-99 --fine      # half the nodes' types far below the binary point
    python -m bench.fuzz_graphs --seeds 0-99 --coarse    # values far above it (weights 2^12-2^30 larger)
    python -m bench.fuzz_graphs --seeds 0-39 --wider-words 20  # input words of up to 30 bits
    python -m bench.fuzz_graphs --seeds 0-99 --format1   # trigger-design/1 chains, through hls4ml's converter

A design the validator rejects or the RTL refuses (naming the node) is counted, not a failure; any difference between
implementations is one, listed with its seed (`python -m bench.fuzz_graphs --dump SEED` writes that design).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from designs import fuzz_format1, fuzz_graph, random_words, wider_words  # noqa: E402  (what the tests use too)


def generated(seed: int, conv=False, batchnorm=False, minmax=False, fine=False, coarse=False, wider: int = 0, format1=False) -> dict:
    """The design dict of a seed and the modes (what check runs and --dump writes)."""
    g = fuzz_format1(seed) if format1 else fuzz_graph(seed, conv, batchnorm, minmax, fine, coarse)
    return wider_words(g, wider)


def check(seed: int, tmp: Path, verilog: bool = False, conv: bool = False, batchnorm: bool = False, minmax: bool = False, fine: bool = False,
          coarse: bool = False, wider: int = 0, format1: bool = False) -> dict:
    """One design through every implementation (with verilog, also the emitted Verilog under Verilator, with the
    reset/valid wrapper): {'status': ..., 'diffs': [...]}."""
    from emulator import Emulator
    from trigger.config import load_config
    from trigger.design import DesignError, design_from_dict
    from trigger.firmware.hls import compile_csim, write_hls
    from trigger.firmware.rtl import RTLBuildError, trace
    from trigger.verify.compare import Outputs, _ir_width, rtl_outputs

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = design_from_dict(generated(seed, conv, batchnorm, minmax, fine, coarse, wider, format1))
    except DesignError as exc:
        return {"status": "rejected", "why": str(exc).splitlines()[0][:200]}
    emu = Emulator(d)
    words = random_words(emu, 4000, seed)
    ref = emu.run_full(words)
    got = {"emulator float path": emu.run(words)}
    write_hls(load_config(None), d, tmp / "hls")
    compile_csim(tmp / "hls")
    csim = _csim_in_child(tmp / "hls", d, words)
    if csim is None:  # ap_types' own asserts (a bit read past the MSB in a cast) abort the process
        return {"status": "csim aborted", "nodes": [n.op for n in d.nodes]}
    got["C simulation"] = csim
    refused = []
    for sq in ("dsp", "lut"):
        try:
            _, comb = trace(d, sq)
        except RTLBuildError as exc:
            refused.append(str(exc)[:200])
            continue
        x = words * np.array([i.type.lsb for i in d.inputs])
        o = comb.predict(x, n_threads=1) if _ir_width(comb) <= 32 else np.array([comb(list(r)) for r in x[:800]], dtype=np.float64)
        ir = Outputs(*vars(rtl_outputs(o, emu)).values())
        got[f"da4ml graph ({sq})"] = (ir.mu, ir.score, ir.bits)
    if verilog and not refused:
        from trigger.firmware.rtl import write_rtl
        from trigger.verify.verilog_sim import VerilogSim

        write_rtl(load_config(None), d, tmp / "b" / "rtl")
        got["Verilog"] = VerilogSim(tmp / "b").run(words, emu.mu_type.frac, emu.score_type.frac)
    diffs = []
    for what, g in got.items():
        for a, b, name in zip(ref, g, ("exposed", "score", "bits")):
            a, b = np.asarray(a), np.asarray(b)
            a = a[: len(b)]
            if not np.array_equal(a, b):
                diffs.append(f"{what}: {name}: {int((a != b).sum())} of {a.size} differ")
    return {"status": "differs" if diffs else ("rtl refused" if refused else "exact"), "diffs": diffs, "refused": refused,
            "nodes": [n.op for n in d.nodes]}


def _csim_in_child(hls: Path, d, words: np.ndarray):
    """The C simulation in a process of its own (ap_types' asserts abort the process): its outputs, or None."""
    import subprocess

    np.save(hls / "words.npy", words)
    code = ("import sys, numpy as np; from pathlib import Path; from trigger.firmware.hls import CSim; "
            f"o = CSim(Path(sys.argv[1]), {d.n_inputs}, {d.latent}, {len(d.thresholds)}).run(np.load(sys.argv[1] + '/words.npy')); "
            "np.savez(sys.argv[1] + '/out.npz', mu=o[0], score=o[1], bits=o[2])")
    if subprocess.run([sys.executable, "-c", code, str(hls)], capture_output=True).returncode != 0:
        return None
    o = np.load(hls / "out.npz")
    return o["mu"], o["score"], o["bits"]


def _seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0-49")
    p.add_argument("--out", default=None)
    p.add_argument("--conv", action="store_true", help="image inputs with a conv2d node first")
    p.add_argument("--batchnorm", action="store_true", help="half the nodes followed by a batchnorm")
    p.add_argument("--minmax", action="store_true", help="half the nodes followed by a maximum or minimum")
    p.add_argument("--fine", action="store_true", help="half the nodes' types 12-30 bits further below the binary point")
    p.add_argument("--coarse", action="store_true", help="half the weighted nodes' weights 2^12-2^30 larger, every type following its inputs' scale")
    p.add_argument("--wider-words", type=int, default=0, help="every input word (and the scaling's intermediate) this many bits wider")
    p.add_argument("--format1", action="store_true", help="trigger-design/1 chains (through hls4ml's converter) instead")
    p.add_argument("--verilog", action="store_true", help="also simulate the emitted Verilog (Verilator; ~30 s a design)")
    p.add_argument("--dump", type=int, default=None, help="write the design of this seed as YAML and stop")
    a = p.parse_args(argv)
    if a.dump is not None:
        import yaml

        print(yaml.safe_dump(generated(a.dump, a.conv, a.batchnorm, a.minmax, a.fine, a.coarse, a.wider_words, a.format1), sort_keys=False))
        return 0
    results, t0 = {}, time.time()
    for seed in _seeds(a.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                r = check(seed, Path(tmp), a.verilog, a.conv, a.batchnorm, a.minmax, a.fine, a.coarse, a.wider_words, a.format1)
            except Exception as exc:  # a crash is a finding too
                r = {"status": "crashed", "error": f"{type(exc).__name__}: {exc}"[:400], "trace": traceback.format_exc()[-1500:]}
        results[seed] = r
        print(seed, r["status"], *(r.get("diffs") or []), r.get("why", ""), r.get("error", ""), flush=True)
    counts = {s: sum(r["status"] == s for r in results.values()) for s in sorted({r["status"] for r in results.values()})}
    print(counts, f"{time.time() - t0:.0f} s")
    if a.out:
        from trigger.io_utils import write_json

        write_json(Path(a.out), {"counts": counts, "seconds": round(time.time() - t0, 1), "results": results})
    return 1 if counts.get("differs") or counts.get("crashed") else 0


if __name__ == "__main__":
    raise SystemExit(main())
