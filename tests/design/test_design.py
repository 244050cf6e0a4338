"""The design file: validation with key paths, round trips, Keras import, and a design that needs every
unusual cast (truncated products, saturating and wrapping accumulators, left shifts, a saturating score
tree, thresholds outside the score's range) through the emulator, the HLS C simulation and the Verilog."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import where
import yaml

from emulator import Emulator
from trigger.design import DesignError, design_from_dict, load_design, save_design
from trigger.design.fixed import FixedType

SHARED = where.SHARED / "axol1tl"


def _grid(rng, t: FixedType, shape):
    return (rng.integers(t.int_min, t.int_max + 1, size=shape) * t.lsb).tolist()


def odd_design(seed: int = 5) -> dict:
    rng = np.random.default_rng(seed)
    w1, b1 = FixedType.parse("ap_fixed<6,2>"), FixedType.parse("ap_fixed<8,3>")
    w2, b2 = FixedType.parse("ap_fixed<5,1>"), FixedType.parse("ap_fixed<8,3>")
    return {
        "format": "trigger-design/1",
        "name": "odd",
        "inputs": [{"name": n, "type": t} for n, t in [("a", "ap_uint<8>"), ("b", "ap_int<6>"), ("c", "ap_ufixed<7,5>"),
                                                      ("d", "ap_int<9>"), ("e", "ap_uint<4>"), ("f", "ap_fixed<8,4>")]],
        "scaling": {"offset": [100, -3, 7.5, 0, 2, -1.25], "offset_type": "ap_fixed<10,8>", "shift": [2, -2, 0, 1, -1, 3],
                    "intermediate": "ap_fixed<12,7,AP_RND,AP_SAT>", "output": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"},
        "layers": [
            {"name": "d1", "weight": _grid(rng, w1, (6, 5)), "bias": _grid(rng, b1, (5,)), "weight_type": w1.hls(), "bias_type": b1.hls(),
             "accum_type": "ap_fixed<10,4,AP_TRN,AP_SAT>", "result_type": "ap_fixed<10,4>", "activation": "relu",
             "activation_type": "ap_ufixed<8,4,AP_RND,AP_SAT>"},
            {"name": "d2", "weight": _grid(rng, w2, (5, 3)), "bias": _grid(rng, b2, (3,)), "weight_type": w2.hls(), "bias_type": b2.hls(),
             "accum_type": "ap_fixed<12,5,AP_RND_ZERO,AP_WRAP>", "result_type": "ap_fixed<12,5>", "activation": "linear",
             "activation_type": "ap_fixed<8,3,AP_RND_INF,AP_SAT_SYM>"},
        ],
        "score": {"square_type": "ap_ufixed<8,4,AP_TRN,AP_SAT>", "sum_type": "ap_ufixed<8,5,AP_TRN,AP_SAT>"},
        "thresholds": [{"name": "mid", "raw": 40}, {"name": "below", "raw": -5}, {"name": "above", "raw": 300}, {"name": "max", "raw": 255}],
    }


@pytest.fixture(scope="module")
def odd_build(tmp_path_factory):
    from trigger.config import load_config
    from trigger.firmware.build import build_firmware
    from trigger.model.importer import import_design

    tmp = tmp_path_factory.mktemp("odd")
    (tmp / "odd.yaml").write_text(yaml.safe_dump(odd_design()))
    build = tmp / "build"
    import_design(tmp / "odd.yaml", build)
    cfg = load_config(None)
    return cfg, build, build_firmware(cfg, build)


def test_odd_design_is_exact_in_emulator_csim_and_verilog(odd_build, monkeypatch):
    from trigger.verify.compare import Outputs
    from trigger.verify.edge_words import edge_cases
    from trigger.firmware.hls import CSim
    from trigger.verify.verilog_sim import VerilogSim

    cfg, build, _ = odd_build
    emu = Emulator.load(build)
    d1 = emu.design.nodes[0]
    assert not emu.analysis.dense[d1.name].summed, "truncated products: the cast-by-cast path must be taken"
    rng = np.random.default_rng(1)
    words = np.concatenate([rng.integers(emu.word_min, emu.word_max + 1, size=(30000, emu.n_inputs))] + list(edge_cases(emu).values()))
    ref = Outputs(*emu.run(words))
    # the design's hazards really happen on these words
    assert emu.analysis.overflows(d1.name, "accum"), "layer d1's accumulator cannot saturate"
    y = emu.nodes(words, [d1.name], full=True)[d1.name]
    assert np.array_equal(y, emu.nodes(words, [d1.name])[d1.name]), "float and int64 paths differ on d1"
    assert (np.abs(y) >= d1.type.int_max).any(), "layer d1 never reaches its extremes"
    assert ref.bits[:, 1].all() and not ref.bits[:, 2].any(), "thresholds below the minimum / above the maximum"
    assert (ref.score == emu.score_type.int_max).any(), "the score tree never saturates"

    csim = Outputs(*CSim(build / "hls", emu.n_inputs, emu.latent, 4).run(words))
    monkeypatch.chdir(build.parent)  # a relative build path, as `make firmware` gives one (this once broke the harness build)
    verilog = Outputs(*VerilogSim(Path(build.name)).run(words, emu.mu_type.frac, emu.score_type.frac))  # trigger_top, wrapper included
    for name, o in (("csim", csim), ("verilog", verilog)):
        for field in ("mu", "score", "bits"):
            a, b = getattr(ref, field), getattr(o, field)
            assert np.array_equal(a, b), f"{name} {field}: {int((a != b).sum())} differ"


def test_trained_design_round_trips(tiny, tmp_path):
    """Our own design, re-imported, gives the same firmware bytes and the same outputs."""
    from trigger.firmware.build import build_firmware
    from trigger.model.importer import import_design

    cfg, build, fw = tiny
    d = load_design(build / "design.yaml")
    save_design(d, tmp_path / "again.yaml")
    assert load_design(tmp_path / "again.yaml").sha256() == d.sha256()
    other = tmp_path / "b"
    import_design(build / "design.yaml", other)
    fw2 = build_firmware(cfg, other, verilator_lint=False)
    assert fw2["hashes"]["hls"] == fw["hashes"]["hls"] and fw2["hashes"]["rtl"] == fw["hashes"]["rtl"]
    words = np.random.default_rng(3).integers(Emulator(d).word_min, Emulator(d).word_max + 1, size=(5000, d.n_inputs))
    for a, b in zip(Emulator.load(build).run(words), Emulator.load(other).run(words)):
        assert np.array_equal(a, b)


def test_qkeras_model_and_hls4ml_config_import(tmp_path):
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    from trigger.model.importer import design_from_keras

    inp = tf.keras.Input(shape=(3,), name="x")
    h = QDense(4, kernel_quantizer=quantized_bits(6, 2, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1), name="fc1")(inp)
    h = QActivation(quantized_relu(8, 4), name="relu1")(h)
    out = QDense(2, kernel_quantizer=quantized_bits(6, 2, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1), name="mu")(h)
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(0)
    model.layers[1].set_weights([rng.normal(0, 1, (3, 4)), rng.normal(0, 1, 4)])
    model.layers[3].set_weights([rng.normal(0, 1, (4, 2)), rng.normal(0, 1, 2)])
    hc = {"Model": {"Precision": "ap_fixed<16,6>"},
          "LayerName": {"fc1": {"Precision": {"weight": "ap_fixed<6,3>", "bias": "ap_fixed<8,4>", "accum": "ap_fixed<20,8>", "result": "ap_fixed<20,8>"}},
                        "relu1": {"Precision": {"result": "ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"}},
                        "mu": {"Precision": {"weight": "ap_fixed<6,3>", "bias": "ap_fixed<8,4>", "accum": "ap_fixed<18,8>", "result": "ap_fixed<12,6>"}}}}
    spec = {"inputs": [{"name": f"w{i}", "type": "ap_uint<8>"} for i in range(3)],
            "scaling": {"offset": [0, 0, 0], "offset_type": "ap_int<9>", "shift": [4, 4, 4], "intermediate": "ap_fixed<16,10>",
                        "output": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"},
            "score": {"square_type": "ap_ufixed<18,14>", "sum_type": "ap_ufixed<18,14>"}, "thresholds": [{"name": "t", "raw": 10}]}
    d = design_from_keras(model, hc, spec, "test")
    assert [L.name for L in d.layers] == ["fc1", "mu"]
    assert d.layers[0].activation == "relu" and d.layers[0].activation_type == FixedType.parse("ap_ufixed<8,4,AP_RND_CONV,AP_SAT>")
    assert d.layers[1].activation == "linear" and d.layers[1].activation_type == FixedType.parse("ap_fixed<12,6>")
    assert d.layers[0].accum_type == FixedType.parse("ap_fixed<20,8>")
    q = model.layers[1].kernel_quantizer_internal(model.layers[1].kernel).numpy()
    assert np.array_equal(d.layers[0].weight * d.layers[0].weight_type.lsb, q)
    bad = tf.keras.Model(inp, tf.keras.layers.BatchNormalization(name="bn")(inp))
    with pytest.raises(DesignError, match="'bn'.*BatchNormalization"):
        design_from_keras(bad, hc, spec, "test")
    hc_auto = copy.deepcopy(hc)
    hc_auto["LayerName"]["mu"]["Precision"]["accum"] = "auto"
    with pytest.raises(DesignError, match="LayerName.mu.Precision.accum"):
        design_from_keras(model, hc_auto, spec, "test")


@pytest.mark.parametrize("edit,msg", [
    (lambda d: d["layers"][0].update(weight=d["layers"][0]["weight"][:-1]), r"layers\[0\]\.weight: expected 6 rows"),
    (lambda d: d["layers"][0]["weight"][2].__setitem__(1, 0.3), r"layers\[0\]\.weight\[2\]\[1\]: 0.3 is not on the grid of ap_fixed<6,2>"),
    (lambda d: d["layers"][0]["weight"][0].__setitem__(0, 8.0), r"layers\[0\]\.weight\[0\]\[0\]: 8.0 is outside the range"),
    (lambda d: d["layers"][1].update(accum_type="ap_fixed<12,5,AP_ROUND>"), r"layers\[1\]\.accum_type: unknown rounding mode"),
    (lambda d: d["score"].update(sum_type="ap_ufixed<50,20>"), r"score\.sum_type: 50 bits"),
    (lambda d: d["layers"][1].update(bias=[0.0, 0.0]), r"layers\[1\]\.bias: expected shape \(3,\)"),
    (lambda d: d["scaling"].update(shift=[1, 2]), r"scaling\.shift: expected 6 values"),
    (lambda d: d["scaling"].update(shfit=1), r"scaling\.shfit: unknown key"),
    (lambda d: d.pop("score"), r"score: missing"),
    (lambda d: d["layers"][0].update(activation="tanh"), r"layers\[0\]\.activation: 'tanh'"),
    (lambda d: d["thresholds"][0].update(raw=1.5), r"thresholds\[0\]\.raw\[0\]: 1.5 is not an integer"),
    (lambda d: d.update(format="trigger-design/9"), r"format: expected 'trigger-design/1'"),
])
def test_validation_names_the_key(edit, msg):
    d = odd_design()
    edit(d)
    with pytest.raises(DesignError, match=msg):
        design_from_dict(d, "x.yaml")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/axol1tl (the deployed AXOL1TL v4 design and a CMS test vector) is absent")
def test_axol1tl_v4_reproduces_the_menu_bits(tmp_path):
    """The deployed CMS design, imported, gives every AXO algorithm bit of the menu's test vector."""
    from trigger.data.testvectors import MuonPhi, PtHalving, read_testvector
    from trigger.model.importer import import_design

    d = import_design(SHARED / "axol1tl_v4.design.yaml", tmp_path / "b")
    tv = read_testvector(SHARED / "L1menu_2024_v1_3_0_data_TestVector_000.txt")
    assert len(tv.words) == 3564
    bits = Emulator.load(tmp_path / "b").run(tv.words)[2]
    ref = tv.algo_bits[:, 439:444]
    assert ref.sum(0).tolist() == [96, 62, 43, 31, 10]
    assert np.array_equal(bits, ref)
    # the conventions matter: the firmware's full pT (the 0.5 GeV bit kept) changes some bits
    exact = read_testvector(SHARED / "L1menu_2024_v1_3_0_data_TestVector_000.txt", MuonPhi.raw, PtHalving.exact)
    assert not np.array_equal(Emulator(d).run(exact.words)[2], ref)


def test_hazards_list_overflows_and_find_a_score_wrap():
    from trigger.verify.hazards import hazard_report

    d = odd_design()
    r = hazard_report(design_from_dict(d))
    casts = [c["cast"] for c in r["casts_that_may_overflow"]]
    assert any(c.startswith("nodes[0] (d1).accum_type (products") for c in casts)
    assert any("left shift" in c for c in casts)
    assert r["score_wrap_search"] == {"searched": False, "why": "no cast in the score path can wrap"}  # the score saturates
    d["score"]["sum_type"] = "ap_ufixed<8,5>"  # now the tree wraps: the search must show it on real words
    r = hazard_report(design_from_dict(d))
    ex = r["score_wrap_search"]["example"]
    emu = Emulator(design_from_dict(d))
    assert emu.run(np.array([ex["words"]]))[1][0] == ex["score_raw"] != ex["score_raw_without_wrap"]
    wide = copy.deepcopy(d)
    wide["score"] = {"square_type": "ap_ufixed<20,10>", "sum_type": "ap_ufixed<24,12>"}
    assert not [c for c in hazard_report(design_from_dict(wide))["casts_that_may_overflow"] if "(score" in c["cast"]]


def test_the_vendor_testbench_reads_the_vectors_we_write(odd_build):
    """trigger_tb.cpp (the C/RTL co-simulation testbench for users with the vendor tools), compiled with g++ here:
    on the file `trigger emulate --vectors` writes it reads every event once (the '#' header is no event) and its
    outputs equal the emulator's."""
    import subprocess

    from trigger.verify.bits import write_vectors

    cfg, build, _ = odd_build
    hls = build / "hls"
    emu = Emulator.load(build)
    words = np.random.default_rng(3).integers(emu.word_min, emu.word_max + 1, size=(300, emu.n_inputs))
    mu, score, bits = emu.run(words)
    write_vectors(build, words, (mu, score, bits), hls / "tb_data" / "tb_input_words.dat")
    exe = hls / "tb_gpp"
    subprocess.run(["g++", "-O1", "-std=c++14", "-I", str(hls / "firmware"), "-I", str(hls / "firmware" / "ap_types"),
                    f'-DWEIGHTS_DIR="{(hls / "csim_weights").resolve()}"', str(hls / "trigger_tb.cpp"), str(hls / "trigger_top.cpp"),
                    str(hls / "firmware" / "myproject.cpp"), "-o", str(exe)], check=True)
    subprocess.run([str(exe)], cwd=hls, check=True)
    out = np.loadtxt(hls / "tb_data" / "tb_output.dat", dtype=np.int64, ndmin=2)
    assert out.shape == (len(words), emu.latent + 1 + len(emu.thresholds)), out.shape
    # the testbench prints each value's raw bits unsigned
    assert np.array_equal(out[:, : emu.latent], mu & ((1 << emu.mu_type.width) - 1))
    assert np.array_equal(out[:, emu.latent], score & ((1 << emu.score_type.width) - 1))
    assert np.array_equal(out[:, emu.latent + 1 :], bits)


def test_format1_int_accumulator_is_exact_in_the_c_simulation(tmp_path):
    """A format-1 layer whose accumulator is `ap_int<12>` and whose products lie wholly below 1 (inputs of
    `ap_fixed<8,-1>` times weights of `ap_fixed<6,0>`): hls4ml spelled the accumulator ap_int, whose own conversion
    of such a product is wrong (the C simulation differed on every event before session 20); our hls4ml
    configuration now declares it `ap_fixed<12,12,AP_TRN_ZERO>`, the same type."""
    from test_graph import _csim

    d = odd_design()
    rng = np.random.default_rng(3)
    d["scaling"]["output"] = "ap_fixed<8,-1,AP_RND_ZERO,AP_SAT>"
    w = FixedType.parse("ap_fixed<6,0>")
    d["layers"][0].update(weight=_grid(rng, w, (6, 5)), weight_type=w.hls(), accum_type="ap_int<12>", bias_type="ap_fixed<8,8>",
                          bias=[float(v) for v in rng.integers(-3, 4, 5)])
    design = design_from_dict(d)
    assert design.layers[0].accum_type.is_integer
    csim = _csim(design, tmp_path)
    emu = Emulator(design)
    words = np.random.default_rng(4).integers(emu.word_min, emu.word_max + 1, size=(5000, emu.n_inputs))
    ref = emu.run(words)
    got = csim.run(words)
    assert (emu.nodes(words, ["input"])["input"] < 0).any()  # negative products below 1, which ap_int took to -1
    for a, b in zip(ref, got):
        assert np.array_equal(np.asarray(a), np.asarray(b))
