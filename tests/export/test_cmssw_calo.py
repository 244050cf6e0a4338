"""`trigger export cmssw` for a calorimeter-image design (252 region words): CICADA's convention, ap_uint<10>* in,
a pointer to the score's type out. A stand-in for CMSSW's calorimeter summary loads the plug-in and reads every
score equal to the emulator's; with ../shared, CICADA v2.2.0 equals its own C++'s scores on all 2,000 images."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import where
from designs import calo_like, random_graph
from emulator import Emulator
from trigger.design import design_from_dict, load_design, save_design
from trigger.export.cmssw import ExportError, default_model_name, export_cmssw, plan
from trigger.firmware.templates import TEMPLATES

CICADA = where.SHARED / "cicada"


def _images(n, seed):
    """Soft deposits, a few hard regions, some rows at the full range: every output type's edge reached."""
    rng = np.random.default_rng(seed)
    w = np.minimum(rng.exponential(6, size=(n, 252)).astype(np.int64), 1023)
    hard = rng.random((n, 252)) < 0.02
    w[hard] = rng.integers(100, 1024, size=hard.sum())
    w[: n // 20] = rng.integers(0, 1024, size=(n // 20, 252))
    return w


def _host(tmp: Path, ap_types: Path, score_type) -> Path:
    exe = tmp / "calo_host"
    subprocess.run(["g++", "-O1", "-std=c++17", f"-DSCORE_T={score_type.hls()}", f"-DSCORE_FRAC={score_type.frac}",
                    f"-I{TEMPLATES / 'cmssw' / 'include'}", f"-I{ap_types}", str(where.TESTS / "cpp" / "cmssw_calo_host.cpp"),
                    "-ldl", "-o", str(exe)], check=True)
    return exe


def _run(tmp: Path, build: Path, words: np.ndarray, name: str):
    info = export_cmssw(build, tmp / f"pkg_{name}", cxxflags="-O1")
    pkg = Path(info["package"])
    design = load_design(build / "design.yaml")
    exe = _host(tmp, pkg / "NN" / "firmware" / "ap_types", design.score_type)
    (tmp / f"{name}.bin").write_bytes(np.ascontiguousarray(words, dtype=np.int64).tobytes())
    res = subprocess.run([str(exe), info["library"], str(tmp / f"{name}.bin"), str(len(words)), str(tmp / f"{name}.out")],
                         capture_output=True, text=True)
    return info, pkg, res, (np.fromfile(tmp / f"{name}.out", dtype=np.int64) if res.returncode == 0 else None)


def test_calo_plugin_equals_the_emulator(tmp_path):
    d = calo_like()
    build = tmp_path / "b"
    save_design(design_from_dict(d), build / "design.yaml")
    words = _images(20_000, 1)
    info, pkg, res, got = _run(tmp_path, build, words, "calo")
    assert res.returncode == 0, res.stderr
    assert info["model"] == "CICADA_like" and info["first"] == "calo"
    want = Emulator(design_from_dict(d)).run(words)[1]
    assert np.unique(want).size > 1000 and want.min() == 0  # spread, and the ReLU floor reached
    assert np.array_equal(got, want)
    assert json.loads((pkg / "trigger_export.json").read_text())["thresholds_score"] == {"nominal": 1000 / 256}
    assert "nominal 3.90625" in (pkg / "thresholds.txt").read_text()
    assert "ap_uint<10>*" in (pkg / "README.md").read_text()
    bad = np.full((3, 252), 511)
    bad[1, 7] = 512
    narrow = {**d, "inputs": [{"name": f"region{i}", "type": "ap_uint<9>"} for i in range(252)]}
    save_design(design_from_dict(narrow), tmp_path / "n" / "design.yaml")
    _, _, res, _ = _run(tmp_path, tmp_path / "n", bad, "narrow")
    assert res.returncode == 3 and "row 1: CICADA_like: input 7 (region7) = 512 is no word of its type (integer in [0, 511])" in res.stderr


def test_calo_refusals_and_names():
    wide = design_from_dict(calo_like(word="ap_uint<11>"))
    with pytest.raises(ExportError, match=r"inputs\[0\] \(region0\): words of ap_uint<11> reach \[0, 2047\], the calorimeter summary delivers ap_uint<10>"):
        plan(wide, "CICADA_x")
    assert default_model_name(design_from_dict(calo_like())) == "CICADA_like"
    with pytest.raises(ExportError, match="has 6 inputs; CMSSW delivers 57 .* and 252 to the calorimeter"):
        plan(design_from_dict(random_graph(0)), "X")


@pytest.mark.skipif(not CICADA.is_dir(), reason="../shared/cicada is absent: the deployed CICADA check needs it")
def test_cicada_v2p2p0_plugin_equals_its_own_cpp(tmp_path):
    from trigger.model.importer import import_design

    import_design(CICADA / "cicada_v2p2p0.design.yaml", tmp_path / "b")
    words = np.load(CICADA / "regions_2k.npy").astype(np.int64)
    want = np.loadtxt(CICADA / "regions_2k_v2p2p0_cpp_score.txt", dtype=np.int64)
    info, _, res, got = _run(tmp_path, tmp_path / "b", words, "cicada")
    assert res.returncode == 0, res.stderr
    assert info["model"] == "CICADA_v2p2p0"
    assert np.array_equal(got, want)
