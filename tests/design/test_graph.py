"""Graph designs (`trigger-design/2`): validation by key path, and random graphs of every node kind with random
types over every rounding x overflow mode through every implementation: the emulator's int64 and float paths,
the HLS C simulation (g++ with hls4ml's ap_types), da4ml's graph and the emitted Verilog (Verilator)."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest

import where

from emulator import Emulator
from trigger.design import DesignError, design_from_dict, save_design
from trigger.design.fixed import FixedType

SHARED = where.SHARED

from designs import MODES, fuzz_graph, modes_used, random_graph, random_words as _words  # noqa: E402
def _ir(design, words, square_in="dsp"):
    """da4ml's graph: its C++ interpreter, or its Python one (row by row, slow) where values pass 32 bits, as compare does."""
    from trigger.verify.compare import Outputs, _ir_width, rtl_outputs
    from trigger.firmware.rtl import trace

    _, comb = trace(design, square_in)
    x = words * np.array([i.type.lsb for i in design.inputs])
    o = comb.predict(x, n_threads=1) if _ir_width(comb) <= 32 else np.array([comb(list(r)) for r in x], dtype=np.float64)
    return Outputs(*vars(rtl_outputs(o, Emulator(design))).values())


def _csim(design, tmp: Path):
    from trigger.config import load_config
    from trigger.firmware.hls import CSim, compile_csim, write_hls

    write_hls(load_config(None), design, tmp / "hls")
    compile_csim(tmp / "hls")
    return CSim(tmp / "hls", design.n_inputs, design.latent, len(design.thresholds))


def _equal(ref, got, what):
    for a, b, name in zip(ref, got, ("exposed", "score", "bits")):
        assert np.array_equal(np.asarray(a), np.asarray(b)), f"{what}: {name}: {int((np.asarray(a) != np.asarray(b)).sum())} values differ"


def exact_everywhere(d, words, tmp: Path, square_ins=("dsp",)):
    """The emulator's float path, the C simulation and da4ml's graph (each square_in) equal to the int64 emulator."""
    emu = Emulator(d)
    ref = emu.run_full(words)
    _equal(ref, emu.run(words), "emulator float path")
    _equal(ref, _csim(d, tmp).run(words), "C simulation")
    for square_in in square_ins:  # a value times itself as `*`, or from adders
        ir = _ir(d, words, square_in)
        _equal(ref, (ir.mu, ir.score, ir.bits), f"da4ml graph, square_in {square_in}")
    return emu


@pytest.mark.parametrize("seed", range(6))
def test_random_graph_exact_in_emulator_csim_and_da4ml(seed, tmp_path):
    d = design_from_dict(random_graph(seed))
    emu = exact_everywhere(d, _words(Emulator(d), seed=seed), tmp_path, ("dsp", "lut"))
    assert emu._table is not None  # the float path scales by lookup table: checked above against the int64 scaling


def test_random_graphs_cover_every_mode_and_really_overflow():
    """The seeds together use all 28 rounding x overflow pairs, and the casts really overflow on the test words."""
    seen = set()
    overflowing = 0
    for seed in range(6):
        d = design_from_dict(random_graph(seed))
        seen |= modes_used(d)
        overflowing += len(Emulator(d).analysis.may_overflow)
    assert len(seen) == 28, f"modes missing: {set(MODES) - seen}"
    assert overflowing >= 20


def test_a_wrong_cast_in_the_graph_is_caught(tmp_path):
    """The comparison can fail: the C simulation of a design with one node's rounding changed differs."""
    g = random_graph(1)
    d = design_from_dict(g)
    emu = Emulator(d)
    words = _words(emu, seed=1)
    other = copy.deepcopy(g)
    other["nodes"][-1]["type"] = "ap_fixed<4,1,AP_TRN,AP_WRAP>"  # the score node, far narrower: it must wrap
    got = _csim(design_from_dict(other), tmp_path).run(words)
    assert not np.array_equal(emu.run(words)[1], got[1])


# the wider generator's designs (random DAGs, types of 1-40 bits); 4, 9, 29, 48 and 68 each found a defect, now
# fixed: the interval analysis started a dense node's partial sums from its uncast bias (the float path then skipped
# a cast that overflows), da4ml wrapped a negative value into a wide unsigned type modulo too small a power of two,
# the C++ spelled ap_fixed<W,W> as ap_int<W> (which rounds toward zero), a cast of a value below the new LSB lost its
# +-1 LSB in the RTL, and the float path saturated a tensor in place that another node read after (48 also needs the
# C simulation built with -DNDEBUG); 110: da4ml's own saturation compared wrongly on a value carried at 2^-40 (chained
# squares). docs/implementations.md; `python -m bench.fuzz_graphs` runs hundreds.
FUZZ = [4, 9, 29, 48, 68, 110, 0, 7, 13]


def _quiet(g: dict):
    """The design of a generated dict, its warnings silenced (unused nodes are a warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return design_from_dict(g)


def fuzz_exact(g: dict, tmp: Path, seed: int):
    """A generated design in every implementation, both square_ins, on 4,000 words of its seed; the design."""
    d = _quiet(g)
    exact_everywhere(d, _words(Emulator(d), n=4000, seed=seed), tmp, ("dsp", "lut"))
    return d


@pytest.mark.parametrize("seed", FUZZ)
def test_fuzz_graph_exact_in_every_implementation(seed, tmp_path):
    fuzz_exact(fuzz_graph(seed), tmp_path, seed)


def test_fuzz_conv_graph_exact_in_every_implementation(tmp_path):
    """Conv seed 44: an input whose scaled values all round to one (-1.5) before a wrap into ap_fixed<2,1>: da4ml
    returned the constant unwrapped; the RTL now wraps it in exact integers."""
    fuzz_exact(fuzz_graph(44, conv=True), tmp_path, 44)


@pytest.mark.parametrize("seed", [20, 77])
def test_fuzz_graph_verilog(seed, tmp_path):
    """The emitted Verilog (wrapper included, Verilator) of two random DAGs that found RTL defects: 20's saturation
    limit lay 19 bits below its value's LSB (da4ml's Verilog clamp gave 0 for 4 - 2^-17; its interpreter was right),
    77's shallow graph spread over 10 clocks made da4ml's pipeliner fail (IndexError) before the cutoff's floor."""
    verilog_exact(fuzz_graph(seed), tmp_path, seed)


@pytest.mark.parametrize("seed", [1, 5])
def test_batchnorm_exact_in_every_implementation(seed, tmp_path):
    """hls4ml's BatchNormalization (nnet::normalize: the exact x * scale + bias, one cast) after random nodes, per
    element, and per channel after a conv2d, in the emulator, the C simulation and da4ml's graph."""
    g = fuzz_graph(seed, conv=seed == 5, batchnorm=True)
    assert sum(n["op"] == "batchnorm" for n in g["nodes"]) >= 2
    d = _quiet(g)
    assert design_from_dict(d.to_dict()).to_dict() == d.to_dict()  # the file round-trips
    exact_everywhere(d, _words(Emulator(d), n=4000, seed=seed), tmp_path)


@pytest.mark.parametrize("seed", [9, 21])
def test_maximum_minimum_exact_in_every_implementation(seed, tmp_path):
    """hls4ml's Maximum / Minimum merges (compare the uncast values, cast the one kept) after random nodes, over
    random types and modes, in the emulator, the C simulation and da4ml's graph; the same design with every
    maximum turned into a minimum differs (the comparison is seen)."""
    g = fuzz_graph(seed, minmax=True)
    assert sum(n["op"] in ("maximum", "minimum") and len(set(n["inputs"])) == 2 for n in g["nodes"]) >= 3
    d = _quiet(g)
    flipped = _quiet({**g, "nodes": [dict(n, op="minimum") if n["op"] == "maximum" else n for n in g["nodes"]]})
    assert design_from_dict(d.to_dict()).to_dict() == d.to_dict()
    emu = exact_everywhere(d, _words(Emulator(d), n=4000, seed=seed), tmp_path)
    words = _words(emu, n=4000, seed=seed)
    names = [n["name"] for n in g["nodes"] if n["op"] == "maximum"]
    got, other = emu.nodes(words, names, full=True), Emulator(flipped).nodes(words, names, full=True)
    assert any(not np.array_equal(got[k], other[k]) for k in names)


def verilog_exact(g: dict, tmp: Path, seed: int):
    """The design's emitted Verilog (wrapper included, Verilator) equal to the emulator on 3,000 words; the
    emulator's outputs."""
    from trigger.config import load_config
    from trigger.firmware.rtl import write_rtl
    from trigger.verify.verilog_sim import VerilogSim

    d = _quiet(g)
    write_rtl(load_config(None), d, tmp / "rtl")
    emu = Emulator(d)
    words = _words(emu, n=3000, seed=seed)
    ref = emu.run_full(words)
    _equal(ref, VerilogSim(tmp).run(words, emu.mu_type.frac, emu.score_type.frac), "Verilog")
    return d, ref


def test_maximum_minimum_verilog(tmp_path):
    """The emitted Verilog of a random DAG with four minimum nodes (two of two distinct tensors), under Verilator."""
    verilog_exact(fuzz_graph(5, minmax=True), tmp_path, 5)


# `fuzz_graph(seed, fine=True)` designs that an implementation got wrong before session 19: the RTL's constants past
# 2^-32 (da4ml 0.5.2 puts a constant on a grid of 2^-32 at the finest and keeps its Decimals at 28 digits): 1, a
# bias-only output of 2^-34 became 0; 38, a square's row of 2^-40 vanished (square_in lut); 63, every value
# saturating to a limit of 46 fraction bits gave 0; 98, a product by a constant 2^-50 crashed (IndexError). The
# C++: conv 0, an ap_int<7> accumulator took -1 for each product of -2^-15 (ap_int's own conversion; now declared
# ap_fixed<7,7,AP_TRN_ZERO>). Batchnorm 16 takes add_const's other path (a bias of 38 fraction bits on a value that
# already carries a constant, which da4ml would fold in 2^-32 units: re-formed first); batchnorm 73 saturated one
# LSB low while the clamp to 2^-13 - 2^-33 still went through da4ml's own. `bench.fuzz_graphs --fine` runs hundreds.
FINE = [(1, {}), (38, {}), (63, {}), (98, {}), (16, {"batchnorm": True}), (73, {"batchnorm": True}), (0, {"conv": True})]


def _fine_params():
    """make test: a constant, a saturation and the C++ case (a square's fine row: test_square.py); the rest in
    make test-all."""
    keep = {(1, ""), (73, "batchnorm"), (0, "conv")}
    return [pytest.param(s, k, id=f"{s}{''.join(k)}", marks=() if (s, "".join(k)) in keep else pytest.mark.slow) for s, k in FINE]


@pytest.mark.parametrize("seed,kind", _fine_params())
def test_fine_types_exact_in_every_implementation(seed, kind, tmp_path):
    g = fuzz_graph(seed, fine=True, **kind)
    assert any(FixedType.parse(n.get("type") or n["result_type"]).frac > 32 for n in g["nodes"])
    fuzz_exact(g, tmp_path, seed)


@pytest.mark.slow
def test_fine_types_verilog(tmp_path):
    """The emitted Verilog of fine seed 63: an exposed tensor saturating to 2^-22 - 2^-46 (raw 2^24 - 1)."""
    d, ref = verilog_exact(fuzz_graph(63, fine=True), tmp_path, 63)
    assert (ref[0] == d.mu_type.int_max).any()


# `fuzz_graph(seed, coarse=True)` (session 20): half the weighted nodes take weights 2^12-2^30 larger and every type
# follows the scale of what it reads, so the raw integers are the plain design's with the binary point moved: seed
# 13's values reach 2^79 (a 5-dense chain), seed 1's score 2^35. No implementation differed on the mode's campaigns
# (docs/implementations.md); these guard it, and the emulator's raw outputs must equal the plain design's.
@pytest.mark.slow  # 18 s for seed 13 (da4ml's Python interpreter past 32 bits); make test-all
@pytest.mark.parametrize("seed", [13, 1])
def test_coarse_types_exact_in_every_implementation(seed, tmp_path):
    d, plain = _quiet(fuzz_graph(seed, coarse=True)), _quiet(fuzz_graph(seed))
    assert max(n.type.integer for n in d.nodes) > 32
    words = _words(Emulator(d), n=4000, seed=seed)
    for got, ref in zip(Emulator(d).run(words), Emulator(plain).run(words)):
        assert np.array_equal(got, ref)
    exact_everywhere(d, words, tmp_path, ("dsp", "lut"))


@pytest.mark.slow
def test_wider_words_exact_in_every_implementation(tmp_path):
    """`wider_words`: every input word 20 bits wider (words of up to 30 bits through the scaling); no implementation
    differed on the mode's campaign (session 20); this guards it."""
    from designs import wider_words

    g = wider_words(fuzz_graph(3), 20)
    assert max(FixedType.parse(i["type"]).width for i in g["inputs"]) >= 28
    fuzz_exact(g, tmp_path, 3)


# `fuzz_format1(seed)` (session 20): random `trigger-design/1` chains, which go through hls4ml's converter. With
# hls4ml's own `ap_int` spelling of an accumulator or result the C simulation differed (8: 36,228 of 72,060 mu
# values; 21: every value; 26: every score), as ap_int's conversion of a product wholly below 1 is wrong.
@pytest.mark.parametrize("seed", [21, pytest.param(8, marks=pytest.mark.slow), pytest.param(26, marks=pytest.mark.slow)])
def test_format1_fuzz_exact_in_every_implementation(seed, tmp_path):
    from designs import fuzz_format1

    g = fuzz_format1(seed)
    assert any("int<" in L[k] for L in g["layers"] for k in ("accum_type", "result_type", "activation_type"))
    fuzz_exact(g, tmp_path, seed)


def test_intervals_hold_every_value():
    """Interval analysis bounds every value every node takes (the float path and the RTL leave casts out on its
    word): checked on the emulator's int64 values of 120 random DAGs (a third with conv2d and batchnorm nodes, a third
    with maximum and minimum nodes) and the fixed-shape graphs, on random and edge words."""
    from trigger.design import DesignError

    designs = [design_from_dict(random_graph(s)) for s in range(6)]
    for seed in range(40):
        for g in (fuzz_graph(seed), fuzz_graph(seed, conv=seed % 2 == 1, batchnorm=True), fuzz_graph(seed, minmax=True)):
            try:
                designs.append(_quiet(g))
            except DesignError:
                continue
    assert len(designs) > 100
    for d in designs:
        emu = Emulator(d)
        names = ["input"] + [n.name for n in d.nodes]
        vals = emu.nodes(_words(emu, n=3000, seed=1), names, full=True)
        for name in names:
            lo, hi = emu.analysis.ranges[name]
            v = vals[name] * d.tensor_type(name).lsb
            out = (v < lo) | (v > hi)
            assert not out.any(), f"{d.name}: {name}: {int(out.sum())} values outside [{lo.min()}, {hi.max()}], e.g. {v[out][:3]}"


@pytest.mark.parametrize("seed,square_in", [(1, "dsp"), pytest.param(3, "lut", marks=pytest.mark.slow)])
def test_random_graph_verilog_with_wrapper(seed, square_in, tmp_path):
    """A random graph through `trigger firmware` and the emitted Verilog (reset/valid wrapper) under Verilator;
    seed 3's score is a dot of a tensor with itself, built from adders with square_in lut (`make test-all`: the
    square from adders is checked value by value in Verilog by tests/firmware/test_square.py in `make test`)."""
    from trigger.config import load_config
    from trigger.firmware.build import build_firmware
    from trigger.verify.verilog_sim import VerilogSim

    d = design_from_dict(random_graph(seed))
    build = tmp_path / "b"
    save_design(d, build / "design.yaml")
    cfg = load_config(None)
    build_firmware(cfg.model_copy(update={"firmware": cfg.firmware.model_copy(update={"square_in": square_in})}), build)
    emu = Emulator(d)
    words = _words(emu, n=5000, seed=seed)
    got = VerilogSim(build).run(words, emu.mu_type.frac, emu.score_type.frac)
    _equal(emu.run(words), got, "Verilog")


# ------------------------------------------------------------------------------------------- validation
def _graph():
    return random_graph(0)


def _bn(src, scale, bias=None):
    return {"name": "bn", "op": "batchnorm", "input": src, "scale": scale, "bias": bias or [0.25] * len(scale),
            "scale_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<6,4>", "type": "ap_fixed<10,5,AP_RND_CONV,AP_SAT>"}


@pytest.mark.parametrize("edit,msg", [
    (lambda d: d["nodes"][5].update(inputs=["lin", "relu8"]), r"nodes\[5\]\.inputs\[1\]: unknown tensor 'relu8'"),
    (lambda d: d["nodes"][2].update(weight=d["nodes"][2]["weight"][:3]), r"nodes\[2\]\.weight: 3 rows, its input 'r1' has 5 values"),
    (lambda d: d.update(score="merge"), r"score: node 'merge' has 4 values"),
    (lambda d: d["nodes"][1].update(input="lin"), r"nodes\[1\]\.input: unknown tensor 'lin' \(a node may only read tensors named before it\)"),
    (lambda d: d["nodes"][1].update(op="tanh"), r"nodes\[1\]\.op: 'tanh'"),
    (lambda d: d["nodes"][1].update(type="ap_fixed<52,20>"), r"nodes\[1\]\.type: 52 bits"),
    (lambda d: d["nodes"][5].update(inputs=["lin", "r1"]), r"nodes\[5\]\.inputs: 'lin' has 4 values, 'r1' has 5"),
    (lambda d: d["nodes"][1].update(name="d1"), r"nodes\[1\]\.name: 'd1' is already a tensor name"),
    (lambda d: d["nodes"][1].update(extra=1), r"nodes\[1\]\.extra: unknown key"),
    (lambda d: d["nodes"].insert(2, _bn("r1", [0.5, 1.0])), r"nodes\[2\]\.scale: 2 values: one per element of 'r1' \(5\) or per channel"),
    (lambda d: d["nodes"].insert(2, _bn("r1", [0.3] * 5)), r"nodes\[2\]\.scale\[0\]: 0.3 is not on the grid of ap_fixed<6,3>"),
])
def test_graph_validation_names_the_key(edit, msg):
    d = _graph()
    edit(d)
    with pytest.raises(DesignError, match=msg):
        design_from_dict(d, "g.yaml")


def test_unused_node_is_a_warning():
    d = _graph()
    d["nodes"].append({"name": "spare", "op": "relu", "input": "d1", "type": "ap_ufixed<8,4>"})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        design_from_dict(d, "g.yaml")
    assert any("nodes[8] ('spare'): unused" in str(x.message) for x in w)


def test_graph_round_trips_and_format1_is_the_same_graph():
    d = design_from_dict(_graph())
    again = design_from_dict(d.to_dict())
    assert again.sha256() == d.sha256()
    f1 = SHARED / "random_designs" / "r2" / "design.yaml"
    if not f1.exists():
        pytest.skip(f"{f1.parent} absent: the format-1 half of this test needs ../shared/random_designs")
    from trigger.design import load_design

    one = load_design(f1)
    assert [n.op for n in one.nodes] == ["dense", "linear", "dense", "linear", "square", "sum"]


# ------------------------------------------------------------------------------------------- shared data
def _shared(path: str) -> Path:
    p = SHARED / path
    if not p.exists():
        pytest.skip(f"{p} absent: this test needs the real designs in ../shared/")
    return p


@pytest.mark.parametrize("name", ["r2", "r4", "r6"])
def test_shared_random_designs_exact_in_emulator_and_da4ml(name):
    """The three format-1 designs on which the RTL was inexact (SAT_ZERO via da4ml's msb_mux): now equal."""
    from trigger.design import load_design

    folder = _shared(f"random_designs/{name}")
    d = load_design(folder / "design.yaml")
    words = np.load(folder / "words.npy")
    exp = np.load(folder / "expected.npz")
    emu = Emulator(d)
    want = (exp["mu"], exp["score"], exp["bits"])
    _equal(want, emu.run(words), "emulator")
    _equal(want, emu.run_full(words), "emulator int64")
    ir = _ir(d, words.astype(np.int64))
    _equal(want, (ir.mu, ir.score, ir.bits), "da4ml graph")


def _v5():
    from trigger.data.testvectors import MuonPhi, PtHalving, read_testvector
    from trigger.design import load_design

    d = load_design(_shared("axol1tl/axol1tl_v5.design.yaml"))
    tv = read_testvector(_shared("axol1tl/L1Menu_Collisions2025_v1_0_0_TestVector_ttBar_v5p0p1.txt"), MuonPhi.extrapolated, PtHalving.emulator)
    return d, tv.words, tv.algo_bits[:, 421:428].astype(np.int64)


@pytest.mark.parametrize("square_in", ["dsp", "lut"])
def test_axol1tl_v5_da4ml_graph_on_the_threshold_crossings(square_in):
    """v5's da4ml graph (its Python interpreter: the score accumulator has 37 bits) on the crossings whose scores sit
    nearest each threshold, where a wrong rounding or saturation of the score would flip a bit; its score's squares
    as `*` and from adders."""
    d, words, ref = _v5()
    emu = Emulator(d)
    mu, score, bits = emu.run(words)
    near = np.unique(np.concatenate([np.argsort(np.abs(score - t))[:12] for t in emu.thresholds] + [np.argsort(score)[-4:]]))
    ir = _ir(d, words[near], square_in)
    _equal((mu[near], score[near], bits[near]), (ir.mu, ir.score, ir.bits), "da4ml graph")
    assert np.array_equal(ir.bits, ref[near]) and len(set(map(tuple, ref[near]))) >= 6  # the rows differ in their bits


def test_axol1tl_v5_reproduces_the_2025_test_vector(tmp_path):
    """Every AXO bit (421-427) of the shared 2025 vector, on all 3564 crossings, in the emulator and the C simulation."""
    d, words, ref = _v5()
    emu = Emulator(d)
    mu, score, bits = emu.run(words)
    assert np.array_equal(bits, ref)
    assert [int(c) for c in ref.sum(axis=0)] == [3374, 3254, 3064, 2792, 2117, 258, 205]
    _equal((mu, score, bits), emu.run_full(words), "emulator int64")
    _equal((mu, score, bits), _csim(d, tmp_path).run(words), "C simulation")


@pytest.mark.slow
def test_axol1tl_v5_verilog_reproduces_the_2025_test_vector(tmp_path):
    """Every crossing (and 3,000 random words) through v5's emitted Verilog (reset/valid wrapper, Verilator): the
    score casts a 37-bit accumulator, which da4ml's own saturation gets wrong (trigger/firmware/traced_ops.py). Slow (~2.5
    min): `make test-all`."""
    from trigger.config import load_config
    from trigger.firmware.build import build_firmware
    from trigger.verify.verilog_sim import VerilogSim

    d, tv_words, ref = _v5()
    emu = Emulator(d)
    words = np.concatenate([tv_words, _words(emu, n=3000, seed=7)])
    want = emu.run(words)
    build = tmp_path / "b"
    save_design(d, build / "design.yaml")
    cfg = load_config(None)  # the squares from adders, as v5's resources are counted (docs/axol1tl-v5.md)
    build_firmware(cfg.model_copy(update={"firmware": cfg.firmware.model_copy(update={"square_in": "lut"})}), build)
    got = VerilogSim(build).run(words, emu.mu_type.frac, emu.score_type.frac)
    _equal(want, got, "Verilog")
    assert np.array_equal(got[2][: len(tv_words)], ref)
