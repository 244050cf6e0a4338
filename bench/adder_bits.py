"""The adder bits of a design's constant-matrix multiplies as da4ml builds them: about what the RTL's dense layers
cost in LUTs, since yosys maps an adder bit to one LUT beside the carry chain (AXOL1TL v5's first layer: 9,035
adder bits, 8,984 LUT by yosys alone).

    python -m bench.adder_bits ../shared/axol1tl/axol1tl_v5.design.yaml --out bench/results/adder_bits_v5.json

For every dense (or conv2d) node built as one CMVM: the adder bits of the solution the RTL uses (da4ml's default
search, `trigger/firmware/cmvm.py`) and the fewest over da4ml's six methods x decomposition depths -1..3. An adder's
bits are those of its exact result (da4ml's interval of it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

METHODS = ("wmc", "mc", "wmc-dc", "mc-dc", "wmc-pdc", "mc-pdc")


def adder_bits(sol) -> int:
    """Bits of every addition and subtraction in a da4ml Pipeline (opcodes 0 and 1), by da4ml's own minimal_kif."""
    from da4ml.cmvm.types import minimal_kif

    kifs = [minimal_kif(op.qint) for s in sol.solutions for op in s.ops if op.opcode in (0, 1)]
    return sum(int(k.keep_negative) + k.integers + k.fractional for k in kifs)


def measure(design_path: Path) -> dict:
    from da4ml.cmvm.api import jit_solve

    from trigger.design import load_design
    from trigger.firmware import cmvm, rtl

    design = load_design(design_path)
    seen = []  # every CMVM the RTL generator asks for, in node order

    def record(xs, w):
        seen.append((xs, w))
        return cmvm.matmul(xs, w)

    real, rtl.matmul = rtl.matmul, record
    try:
        rtl.trace(design, "lut")
    finally:
        rtl.matmul = real
    rows = []
    for xs, w in seen:
        qint, lat = cmvm._inputs(xs)
        kernel = np.ascontiguousarray(np.asarray(w).astype(np.float32))
        best = min(adder_bits(jit_solve(kernel, m, "auto", int(1e9), dc, qint, lat, -1, -1)) for m in METHODS for dc in range(-1, 4))
        rows.append({"shape": list(kernel.shape), "adder_bits_used": adder_bits(cmvm.search(kernel, qint, lat)), "adder_bits_fewest": best})
    return {"design": design.name, "cmvms": rows, "total_used": sum(r["adder_bits_used"] for r in rows),
            "total_fewest": sum(r["adder_bits_fewest"] for r in rows)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("design", type=Path)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    r = measure(a.design)
    for row in r["cmvms"]:
        print(f"{row['shape'][0]} x {row['shape'][1]}: {row['adder_bits_used']} adder bits (fewest over da4ml's methods {row['adder_bits_fewest']})")
    print(f"{r['design']}: {r['total_used']} adder bits in all ({r['total_fewest']} at the fewest)")
    if a.out:
        from trigger.io_utils import write_json

        write_json(a.out, r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
