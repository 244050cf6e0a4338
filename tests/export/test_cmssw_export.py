"""`trigger export cmssw`: two plug-ins of different designs (same internal names: myproject, trigger_top, the
weights) loaded into one process by a stand-in for CMSSW's loader, 100k word rows each, losses, the result pair's
first member and the menu decisions equal to the emulator's; the refusals name what does not fit."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import where

from emulator import Emulator
from trigger.data.layout import FEATURE_NAMES
from trigger.design import design_from_dict, save_design
from trigger.export.cmssw import LOSS, MU_FIRST, SCORE_FIRST, ExportError, export_cmssw, plan
from trigger.firmware.templates import TEMPLATES
from trigger.design.fixed import FixedType, Overflow

HERE = Path(__file__).resolve().parent
SHARED = where.SHARED / "axol1tl"
CXXFLAGS = "-O1"  # the test runs each row once: compile time dominates
# (pT, eta, phi) word types per object kind: the hardware fields' widths
WORD_TYPES = {"met": ("ap_uint<12>", "ap_uint<1>", "ap_uint<8>"), "egamma": ("ap_uint<9>", "ap_int<8>", "ap_uint<8>"),
              "muon": ("ap_ufixed<9,8>", "ap_int<9>", "ap_uint<10>"), "jet": ("ap_uint<11>", "ap_int<8>", "ap_uint<8>")}


def _grid(rng, t: str, shape, lim=None):
    f = FixedType.parse(t)
    hi = f.int_max if lim is None else min(lim, f.int_max)
    return (rng.integers(-hi, hi + 1, size=shape) * f.lsb).tolist()


def _inputs_and_scaling(rng) -> dict:
    kinds = [n.split("_")[0].rstrip("0123456789") for n in FEATURE_NAMES]
    types = [WORD_TYPES[k][i % 3] for i, k in enumerate(kinds)]
    return {"inputs": [{"name": n, "type": t} for n, t in zip(FEATURE_NAMES, types)],
            "scaling": {"offset": [float(rng.integers(0, 40)) for _ in types], "offset_type": "ap_fixed<10,10>",
                        "shift": [int(rng.integers(1, 7)) for _ in types], "intermediate": "ap_fixed<18,13>",
                        "output": "ap_fixed<8,6,AP_RND_CONV,AP_SAT>"}}


def v4_like(seed=1) -> dict:
    """Format 1, 57 -> 16 -> 8 (mu ap_fixed<10,7>), score sum(mu^2) in ap_ufixed<18,14>: CMSSW's v4 types."""
    rng = np.random.default_rng(seed)
    layer = lambda name, n_in, n_out, act, at: {  # noqa: E731
        "name": name, "weight": _grid(rng, "ap_fixed<6,3>", (n_in, n_out), 6), "bias": _grid(rng, "ap_fixed<10,7>", (n_out,), 20),
        "weight_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<10,7>", "accum_type": "ap_fixed<20,12>", "result_type": "ap_fixed<20,12>",
        "activation": act, "activation_type": at}
    return {"format": "trigger-design/1", "name": "v4_like", **_inputs_and_scaling(rng),
            "layers": [layer("dense1", 57, 16, "relu", "ap_ufixed<10,6,AP_RND_CONV,AP_SAT>"),
                       layer("dense2", 16, 8, "linear", "ap_fixed<10,7,AP_RND_CONV,AP_SAT>")],
            "score": {"square_type": "ap_ufixed<18,14>", "sum_type": "ap_ufixed<18,14>"}, "thresholds": []}


def v5_like(seed=2) -> dict:
    """Format 2: 57 -> 12 embedding, a 12 -> 4 -> 12 autoencoder, score dot(reco - h) in ap_fixed<18,14,RND_CONV,SAT>."""
    rng = np.random.default_rng(seed)
    dense = lambda name, src, n_in, n_out: {  # noqa: E731
        "name": name, "op": "dense", "input": src, "weight": _grid(rng, "ap_fixed<6,2>", (n_in, n_out), 12),
        "bias": _grid(rng, "ap_fixed<8,4>", (n_out,), 30), "weight_type": "ap_fixed<6,2>", "bias_type": "ap_fixed<8,4>",
        "accum_type": "ap_fixed<20,10>", "result_type": "ap_fixed<20,10>"}
    relu = lambda name, src: {"name": name, "op": "relu", "input": src, "type": "ap_ufixed<10,6,AP_RND_CONV,AP_SAT>"}  # noqa: E731
    return {"format": "trigger-design/2", "name": "v5_like", **_inputs_and_scaling(rng),
            "nodes": [dense("emb", "input", 57, 12), relu("h", "emb"), dense("enc", "h", 12, 4), relu("z", "enc"),
                      dense("dec", "z", 4, 12), {"name": "diff", "op": "subtract", "inputs": ["dec", "h"], "type": "ap_fixed<18,11>"},
                      {"name": "score", "op": "dot", "inputs": ["diff", "diff"], "accum_type": "ap_fixed<37,23>",
                       "type": "ap_fixed<18,14,AP_RND_CONV,AP_SAT>"}],
            "score": "score", "thresholds": []}


def fine_score() -> dict:
    """v4_like with an exact score sum(mu^2) in ap_ufixed<28,16>: finer and wider than CMSSW's loss."""
    d = v4_like(3)
    d["name"] = "fine_score"
    d["score"] = {"square_type": "ap_ufixed<28,16>", "sum_type": "ap_ufixed<28,16>"}
    return d


def _words(emu, n, seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(emu.word_min, emu.word_max + 1, size=(n, emu.n_inputs))
    w[:, 3::3] = np.where(rng.random((n, 18)) < 0.5, 0, w[:, 3::3])  # empty slots, as real events have them
    return w


def _with_quantile_thresholds(d: dict, words) -> dict:
    """Thresholds at the 30/60/90 % quantiles of the design's own score on these words (decisions both ways), on
    CMSSW's loss grid of 2^-4 and below its maximum."""
    emu = Emulator(design_from_dict(d))
    s = np.minimum(emu.run(_cmssw_words(words))[1], int(0.9 * LOSS.max_value / emu.score_type.lsb))
    k = max(emu.score_type.frac - 4, 0)
    return {**d, "thresholds": [{"name": f"q{q}", "raw": int(np.quantile(s, q / 100)) >> k << k} for q in (30, 60, 90)]}


def _cmssw_words(words):
    """What the design sees through CMSSW: pT halved to integer GeV, then doubled (the 0.5 GeV bit dropped)."""
    w = words.copy()
    w[:, 0::3] &= ~np.int64(1)
    return w


def _build(tmp: Path, d: dict, name: str) -> Path:
    b = tmp / name
    save_design(design_from_dict(d), b / "design.yaml")
    return b


def _host(tmp: Path, ap_types: Path) -> Path:
    exe = tmp / "cmssw_host"
    inc = TEMPLATES / "cmssw" / "include"
    subprocess.run(["g++", "-O1", "-std=c++17", f"-I{inc}", f"-I{ap_types}", str(where.TESTS / "cpp" / "cmssw_host.cpp"), "-ldl", "-o", str(exe)],
                   check=True)
    return exe


def _run_host(exe: Path, tmp: Path, runs: list[tuple[Path, str, np.ndarray]]) -> list[np.ndarray]:
    """runs: (package, first kind, words); every plug-in loaded into one process."""
    args = []
    for k, (pkg, kind, words) in enumerate(runs):
        (tmp / f"w{k}.bin").write_bytes(np.ascontiguousarray(words, dtype=np.int64).tobytes())
        model = next(pkg.glob("*.so")).stem
        args += [str(pkg / f"{model}.so"), kind, str(tmp / f"w{k}.bin"), str(len(words)), str(pkg / "thresholds.txt"), str(tmp / f"o{k}.bin")]
    subprocess.run([str(exe), *args], check=True)
    out = []
    for k, (pkg, kind, words) in enumerate(runs):
        n_thr = len((pkg / "thresholds.txt").read_text().splitlines())
        out.append(np.fromfile(tmp / f"o{k}.bin", dtype=np.int64).reshape(len(words), 1 + (8 if kind == "mu" else 1) + n_thr))
    return out


def _expect(emu: Emulator, words, kind: str, halve: bool = True) -> np.ndarray:
    """loss x 16 = the score cast to ap_ufixed<18,14,TRN,SAT>; the first member: mu or the score cast to CMSSW's types."""
    from emulator.fixed import cast

    mu, score, bits = emu.run(_cmssw_words(words) if halve else words)
    f = emu.score_type.frac
    loss = cast(score, f, LOSS.with_modes(overflow=Overflow.SAT))
    first = cast(mu, emu.mu_type.frac, MU_FIRST) if kind == "mu" else cast(score, f, SCORE_FIRST)[:, None]
    return np.column_stack([loss, first, bits])


def _check(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    bad = np.flatnonzero((got != want).any(axis=1))
    assert not len(bad), f"{what}: {len(bad)} of {len(got)} rows differ, first {bad[:5]}: {got[bad[0]]} vs {want[bad[0]]}"


@pytest.fixture(scope="module")
def two_plugins(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmssw")
    n = 100_000
    designs = {}
    for name, make, model, kind, seed in (("a", v4_like, "GTADModel_v4", "mu", 11), ("b", v5_like, "GTADModel_v5", "score", 12),
                                          ("c", fine_score, "GTADModel_fine", "score", 13)):
        words = _words(Emulator(design_from_dict(make())), n, seed)
        d = _with_quantile_thresholds(make(), words)
        info = export_cmssw(_build(tmp, d, name), tmp / f"pkg_{name}", model, cxxflags=CXXFLAGS)
        designs[name] = (Emulator(design_from_dict(d)), words, Path(info["package"]), kind, info)
    return tmp, designs


def test_two_plugins_in_one_process_equal_the_emulator(two_plugins):
    tmp, designs = two_plugins
    exe = _host(tmp, designs["a"][2] / "NN" / "firmware" / "ap_types")
    runs = [(pkg, kind, words) for emu, words, pkg, kind, _ in designs.values()]
    got = _run_host(exe, tmp, runs)
    for (name, (emu, words, pkg, kind, info)), g in zip(designs.items(), got):
        want = _expect(emu, words, kind)
        _check(g, want, f"plug-in {info['model']}")
        dec = g[:, -3:]
        assert dec.any(axis=0).all() and (~dec.astype(bool)).any(axis=0).all(), "each threshold must fire on some rows, not all"
        # the comparison sees CMSSW's pT halving: the emulator on the unhalved words differs on some rows
        # the comparison sees CMSSW's pT halving: without it the expectation differs on some rows
        assert not np.array_equal(_expect(emu, words, kind, halve=False), g), "the comparison could not catch a wrong pT conversion"
        assert info["loss_exact"] == (name != "c") and info["first_exact"] == (name != "c")


def test_plugins_export_only_the_entry_points(two_plugins):
    _, designs = two_plugins
    for emu, words, pkg, kind, info in designs.values():
        so = Path(info["library"])
        syms = subprocess.run(["nm", "-D", "--defined-only", "-C", str(so)], capture_output=True, text=True, check=True).stdout
        names = [line.split(" ", 2)[2] for line in syms.splitlines() if line.strip()]
        ours = [s for s in names if not s.startswith(("std::", "__gnu_cxx::", "typeinfo for std::", "typeinfo name for std::",
                                                      "vtable for std::", "void std::", "guard variable for std::"))]
        assert sorted(ours) == ["create_model", "destroy_model"], f"{so.name} exports {ours}"
        # and the model's own code (hls4ml's nnet included) lives in its namespace, even where hidden
        every = subprocess.run(["nm", "-C", str(so)], capture_output=True, text=True, check=True).stdout
        ours = [ln for ln in every.splitlines() if re.search(r"nnet::|trigger_top\(|myproject\(", ln)]
        assert ours, f"{so.name}: no model symbols found at all"
        outside = [ln for ln in ours if not re.search(rf"{info['model']}::(nnet::|trigger_top\(|myproject\()", ln)]
        assert not outside, f"{so.name}: outside namespace {info['model']}: {outside[:3]}"


def test_thresholds_and_readme_in_menu_units(two_plugins):
    _, designs = two_plugins
    emu, _, pkg, _, info = designs["b"]
    shift = 4 - emu.score_type.frac
    lines = (pkg / "thresholds.txt").read_text().split()
    assert lines[1::2] == [str(t.raw << shift) for t in emu.design.thresholds]
    assert "GTADModel_v5" in (pkg / "README.md").read_text()


def test_the_trained_build_exports(tiny, tmp_path):
    """The flow's own design (an exact, finer and wider score than CMSSW's loss) exports, thresholds on the grid."""
    cfg, build, _ = tiny
    info = export_cmssw(build, tmp_path / "pkg", "GTADModel_tiny", cxxflags=CXXFLAGS)
    emu = Emulator.load(build)
    words = _cmssw_words(_words(emu, 20000, 4))
    pkg = Path(info["package"])
    (g,) = _run_host(_host(tmp_path, pkg / "NN" / "firmware" / "ap_types"), tmp_path, [(pkg, "score", words)])
    _check(g, _expect(emu, words, "score"), "the trained build's plug-in")


def _refused(tmp, d, model, match):
    with pytest.raises(ExportError, match=match):
        plan(design_from_dict(d), model)


@pytest.mark.parametrize("edit, model, match", [
    (lambda d: d["layers"][1].update(activation_type="ap_fixed<12,7,AP_RND_CONV,AP_SAT>"), "GTADModel_v4", r"mu .* ap_fixed<10,7"),
    (lambda d: d["inputs"][3].update(type="ap_uint<14>"), "GTADModel_v5", r"inputs\[3\] \(egamma0_pt\).*x2"),
    (lambda d: d["inputs"][4].update(type="ap_int<14>"), "GTADModel_v5", r"inputs\[4\] \(egamma0_eta\)"),
    (lambda d: None, "GTAD-v5", "C\\+\\+ identifier"),
])
def test_refusals_name_what_does_not_fit(edit, model, match, tmp_path):
    d = copy.deepcopy(v4_like())
    edit(d)
    _refused(tmp_path, d, model, match)
    plan(design_from_dict(v4_like()), "GTADModel_v4")  # the unedited design passes


def test_a_threshold_off_the_loss_grid_is_refused():
    d = fine_score()
    d["thresholds"] = [{"name": "on", "raw": 5 << 8}]
    assert plan(design_from_dict(d), "GTADModel_fine").thresholds == [("on", 5)]
    d["thresholds"] = [{"name": "off", "raw": (5 << 8) + 1}]
    with pytest.raises(ExportError, match=r"threshold 'off' .* not on the loss grid .* nearest grid thresholds 1280 and 1536"):
        plan(design_from_dict(d), "GTADModel_fine")
    d["thresholds"] = [{"name": "high", "raw": 17000 << 12}]  # above the loss's maximum while scores reach it
    with pytest.raises(ExportError, match="above the loss's maximum"):
        plan(design_from_dict(d), "GTADModel_fine")


def test_v4_name_needs_eight_mu_and_57_inputs():
    with pytest.raises(ExportError, match="8 mu values"):
        plan(design_from_dict(v5_like()), "GTADModel_v4")
    plan(design_from_dict(v5_like()), "GTADModel_v5")
    d = v4_like()
    d["inputs"], d["scaling"] = d["inputs"][:6], {k: (v[:6] if isinstance(v, list) else v) for k, v in d["scaling"].items()}
    d["layers"][0]["weight"] = d["layers"][0]["weight"][:6]
    with pytest.raises(ExportError, match="6 inputs"):
        plan(design_from_dict(d), "GTADModel_v4")


def test_an_existing_folder_is_not_overwritten(tmp_path):
    b = _build(tmp_path, v4_like(), "b")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not overwriting"):
        export_cmssw(b, tmp_path / "mine", "GTADModel_v4")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/axol1tl/ is absent: the deployed AXOL1TL v4/v5 checks need it")
def test_axol1tl_v4_and_v5_plugins_on_their_test_vectors(tmp_path):
    from trigger.data.testvectors import MuonPhi, read_testvector
    from trigger.design import load_design

    runs, emus, menus = [], [], []
    for v, model, kind, vec, phi, algos in (
            ("v4", "GTADModel_v4", "mu", "L1menu_2024_v1_3_0_data_TestVector_000.txt", MuonPhi.raw, range(439, 444)),
            ("v5", "GTADModel_v5", "score", "L1Menu_Collisions2025_v1_0_0_TestVector_ttBar_v5p0p1.txt", MuonPhi.extrapolated, range(421, 428))):
        d = load_design(SHARED / f"axol1tl_{v}.design.yaml")
        b = tmp_path / v
        save_design(d, b / "design.yaml")
        info = export_cmssw(b, tmp_path / f"pkg_{v}", model, cxxflags=CXXFLAGS)
        emu = Emulator(d)
        tv = read_testvector(SHARED / vec, phi)
        words = np.concatenate([tv.words, _words(emu, 20000, 3)])
        runs.append((Path(info["package"]), kind, words))
        emus.append(emu)
        menus.append(tv.algo_bits[:, list(algos)])
    exe = _host(tmp_path, runs[0][0] / "NN" / "firmware" / "ap_types")
    for (pkg, kind, words), emu, menu, g in zip(runs, emus, menus, _run_host(exe, tmp_path, runs)):
        _check(g, _expect(emu, words, kind), pkg.name)
        # and the plug-in's decisions are the menu emulator's algorithm bits on the real vector
        _check(g[: len(menu), -menu.shape[1]:], menu.astype(np.int64), f"{pkg.name} vs the menu's bits")
