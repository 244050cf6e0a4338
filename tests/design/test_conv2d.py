"""The `conv2d` node (calorimeter-image triggers such as CICADA): validation by key path, random convolutional
graphs over every rounding x overflow mode (overlapping and disjoint patches, wrapping accumulators) through the
emulator's int64 and float paths, the HLS C simulation and da4ml's graph; CICADA v2.2.0 against its own C++."""

from __future__ import annotations

import numpy as np
import pytest

import where
from designs import modes_used, random_conv_graph, random_words as _words
from emulator import Emulator
from test_graph import _csim, _equal, _ir, exact_everywhere
from trigger.design import DesignError, design_from_dict

CICADA = where.SHARED / "cicada"


@pytest.mark.parametrize("seed", [0, 1, 2, 3] + [pytest.param(s, marks=pytest.mark.slow) for s in range(4, 8)])
def test_random_conv_graph_exact_in_emulator_csim_and_da4ml(seed, tmp_path):
    d = design_from_dict(random_conv_graph(seed))
    exact_everywhere(d, _words(Emulator(d), n=6000, seed=seed), tmp_path)


def test_random_conv_graphs_cover_every_mode_and_the_conv_really_overflows():
    seen, wraps = set(), 0
    for seed in range(8):
        d = design_from_dict(random_conv_graph(seed))
        seen |= modes_used(d)
        emu = Emulator(d)
        conv = d.nodes[0]
        y = emu.nodes(_words(emu, n=3000, seed=seed), [conv.name], full=True)[conv.name]
        wraps += int(emu.analysis.overflows(conv.name, "accum") and (np.abs(y) >= conv.type.int_max).any())
    assert len(seen) >= 20, f"only {len(seen)} rounding x overflow pairs"
    assert wraps >= 2, "no conv accumulator of these seeds reaches its limits"


def test_conv_outputs_are_the_patch_sums_in_keras_order():
    """An independent check of the node's meaning: with an accumulator wide enough to be exact, out[oh, ow, f] is
    the bias plus the sum over kh, kw, c of x[oh*SH+kh, ow*SW+kw, c] * w[kh][kw][c][f], flattened (oh, ow, f)."""
    wide = random_conv_graph(1)
    wide["nodes"][0]["accum_type"] = wide["nodes"][0]["result_type"] = "ap_fixed<48,30>"
    d = design_from_dict(wide)
    conv = d.nodes[0]
    emu = Emulator(d)
    words = _words(emu, n=200, seed=5)
    x = emu.scaled_input(words)
    (h, w, c), (kh, kw), (sh, sw) = conv.in_shape, conv.kernel, conv.strides
    oh, ow, f = conv.out_shape
    wk = conv.weight.reshape(kh, kw, c, f)
    x3 = x.reshape(len(x), h, w, c)
    exact = np.zeros((len(x), oh, ow, f), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            exact[:, i, j, :] = np.einsum("nabc,abcf->nf", x3[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :], wk)
    acc_f, pf = conv.accum_type.frac, d.scaling.output.frac + conv.weight_type.frac
    want = exact * 2 ** (acc_f - pf) + conv.bias * 2 ** (acc_f - conv.bias_type.frac)
    got = emu.nodes(words, ["conv"], full=True)["conv"].reshape(len(x), oh, ow, f)
    assert np.array_equal(got, want)
    assert not np.array_equal(got, np.swapaxes(want, 1, 2).reshape(got.shape)), "the check cannot tell (oh, ow) from (ow, oh)"


@pytest.mark.parametrize("edit, msg", [
    (lambda n: n.update(strides=[2, 3]), r"nodes\[0\]\.strides: \[2, 3\] do not divide"),
    (lambda n: n.update(kernel=[7, 2]), r"nodes\[0\]\.kernel: \[7, 2\] is larger than the input's \[6, 4\]"),
    (lambda n: n.update(in_shape=[6, 4, 2]), r"nodes\[0\]\.in_shape: \[6, 4, 2\] holds 48 values, its input 'input' has 24"),
    (lambda n: n.update(weight=n["weight"][0]), r"nodes\[0\]\.weight: expected \[kernel row 2\]\[kernel column 2\]\[channel 1\]\[filter\]"),
    (lambda n: n.update(kernel=[2]), r"nodes\[0\]\.kernel: expected 2 positive integers"),
    (lambda n: n.update(padding="same"), r"nodes\[0\]\.padding: unknown key"),
])
def test_conv_validation_names_the_key(edit, msg):
    d = random_conv_graph(0)
    edit(d["nodes"][0])
    with pytest.raises(DesignError, match=msg):
        design_from_dict(d)


def test_conv_design_round_trips(tmp_path):
    from trigger.design import load_design, save_design

    d = design_from_dict(random_conv_graph(3))
    save_design(d, tmp_path / "d.yaml")
    again = load_design(tmp_path / "d.yaml")
    assert again.sha256() == d.sha256()
    words = _words(Emulator(d), n=500, seed=1)
    _equal(Emulator(d).run(words), Emulator(again).run(words), "round trip")


@pytest.mark.skipif(not CICADA.is_dir(), reason="../shared/cicada/ is absent: the CICADA v2.2.0 check needs it")
def test_cicada_v2p2p0_reproduces_its_own_cpp(tmp_path):
    from trigger.design import load_design

    d = load_design(CICADA / "cicada_v2p2p0.design.yaml")
    words = np.load(CICADA / "regions_2k.npy").astype(np.int64)
    cpp = np.loadtxt(CICADA / "regions_2k_v2p2p0_cpp_score.txt", dtype=np.int64)
    emu = Emulator(d)
    assert len(np.unique(cpp)) > 1000 and (cpp == d.score_type.int_max).any()  # a real spread, and saturation
    for name, got in (("emulator", emu.run(words)[1]), ("emulator int64", emu.run_full(words)[1]),
                      ("C simulation", _csim(d, tmp_path).run(words)[1]), ("da4ml graph", _ir(d, words).score)):
        assert np.array_equal(np.asarray(got), cpp), f"{name}: {int((np.asarray(got) != cpp).sum())} of 2000 scores differ"


@pytest.mark.slow
@pytest.mark.skipif(not CICADA.is_dir(), reason="../shared/cicada/ is absent: the CICADA v2.2.0 check needs it")
def test_cicada_v2p2p0_verilog_and_cocotb(tmp_path):
    """The emitted Verilog (2,520-bit input port) in compare and under cocotb: every output equal to the emulator."""
    import json

    from cocotb_tests.runner import run_sim
    from trigger.config import load_config
    from trigger.firmware.build import build_firmware
    from trigger.model.importer import import_design
    from trigger.verify.compare import compare

    build = tmp_path / "b"
    import_design(CICADA / "cicada_v2p2p0.design.yaml", build)
    cfg = load_config(None)
    build_firmware(cfg, build)
    np.save(tmp_path / "regions.npy", np.load(CICADA / "regions_2k.npy").astype(np.int64))
    r = compare(cfg, build, str(tmp_path / "regions.npy"), rtl_events=20000)
    assert r["all_exact"] is True and "verilog" in json.dumps(r["pairs"])
    sim = run_sim(cfg, build, events=500, input_file=str(tmp_path / "regions.npy"))
    assert sim["passed"] and sim["mismatches"] == 0 and json.loads((build / "rtl" / "ports.json").read_text())["words"]["width"] == 2520
