"""The RTL's square from adders (`square_in: lut`): every value of each type, da4ml's interpreter and the
emitted Verilog under Verilator equal to the exact square; a broken row is caught."""

from __future__ import annotations

import numpy as np
import pytest

from trigger.design.fixed import FixedType

# signed and unsigned, fraction bits, no fraction bits, a negative fraction count (a left-shifted value), one bit
TYPES = ["ap_fixed<12,5>", "ap_ufixed<10,4>", "ap_int<7>", "ap_uint<6>", "ap_fixed<6,8>", "ap_ufixed<1,1>",
         "ap_fixed<2,1>", "ap_fixed<9,-1>",
         # far below the binary point: rows of 2^-36 and 2^-42, past the 2^-32 grid da4ml 0.5.2 puts constants on
         "ap_fixed<10,-8>", "ap_ufixed<9,-12>"]
# da4ml's Verilator binder packs every output into max(integer bits) + max(fraction bits) <= 32: the left-shifted
# and the all-fraction types' squares leave the model scaled by a power of two (a relabelling of the same wires)
SCALE = np.array([{"ap_fixed<6,8>": 2.0**-8, "ap_fixed<9,-1>": 2.0**12, "ap_fixed<10,-8>": 2.0**22,
                   "ap_ufixed<9,-12>": 2.0**30}.get(t, 1.0) for t in TYPES])
VMUL = 7  # da4ml 0.5's opcode of a variable-by-variable product


def _values(t: FixedType) -> np.ndarray:
    return np.arange(t.int_min, t.int_max + 1) * t.lsb


def _traced(square_fn):
    """Every type's square (times its SCALE) in one da4ml graph; the inputs: every value of each type, in columns."""
    from da4ml.trace import FixedVariableArrayInput, HWConfig, comb_trace

    from trigger.firmware.rtl import kif, elements
    from trigger.firmware.traced_ops import exact_decimals

    types = [FixedType.parse(t) for t in TYPES]
    with exact_decimals():  # as rtl.trace traces
        inp = FixedVariableArrayInput(len(types), hwconf=HWConfig(1, -1, -1))
        kifs = np.array([kif(t) for t in types])
        x = inp.quantize(kifs[:, 0], kifs[:, 1], kifs[:, 2])
        comb = comb_trace(inp, [square_fn(v) * float(s) for v, s in zip(elements(x), SCALE)])
    n = max(2**t.width for t in types)
    return types, comb, np.stack([np.resize(_values(t), n) for t in types], axis=1)


def test_square_from_adders_is_exact_in_da4ml_and_verilog(tmp_path):
    from da4ml.codegen import VerilogModel

    from trigger.firmware.rtl import square
    from trigger.firmware.verilator import apply_verilator_env

    types, comb, data = _traced(square)
    want = data * data * SCALE
    assert np.array_equal(comb.predict(data, n_threads=1), want), "da4ml interpreter"
    apply_verilator_env()
    model = VerilogModel(comb, "sq", tmp_path / "rtl", latency_cutoff=1e9, print_latency=False)
    model.compile(nproc=2)
    got = model.predict(data, n_threads=1)
    for k, t in enumerate(types):
        bad = np.flatnonzero(got[:, k] != want[:, k])
        assert len(bad) == 0, f"Verilog: {t.hls()}: x = {data[bad[:5], k]} gives {got[bad[:5], k]}"


def test_a_dropped_row_is_caught():
    """The check can fail: the same sum without the row of the second-lowest bit differs from the square."""
    from trigger.firmware.rtl import square

    def broken(v):
        k, i, f = (int(a) for a in v.kif)
        p = 1 - f
        bit = (v * 2.0**-p).quantize(0, 1, 0, "WRAP", "TRN")
        high = v.quantize(k, i, -(p + 1), "WRAP", "TRN")
        return square(v) - bit * (high * 2.0 ** (p + 1) + 2.0 ** (2 * p))

    types, comb, data = _traced(broken)
    got = comb.predict(data, n_threads=1)
    for k, t in enumerate(types):
        if t.width > 2:
            assert not np.array_equal(got[:, k], data[:, k] ** 2 * SCALE[k]), t.hls()


def _is_bit(op) -> bool:
    lo, hi, step = (float(q) for q in op.qint)
    return lo == 0 and hi == step  # one bit: 0 or its weight


@pytest.mark.parametrize("square_in", ["dsp", "lut"])
def test_square_in_decides_how_a_value_times_itself_is_built(square_in):
    """lut: no product of a value with itself is left but rows of one bit times a slice; dsp: `*` (DSP blocks)."""
    from designs import random_graph

    from trigger.design import design_from_dict
    from trigger.firmware.rtl import trace

    _, comb = trace(design_from_dict(random_graph(0)), square_in)  # a square node over four values
    wide = [op for op in comb.ops if op.opcode == VMUL and not (_is_bit(comb.ops[op.id0]) or _is_bit(comb.ops[op.id1]))]
    assert (len(wide) == 0) == (square_in == "lut")
