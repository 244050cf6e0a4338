"""L1Ntuple reading: small ROOT files written with uproot in L1AnalysisL1UpgradeDataFormat's layout (both trees,
member names with and without the `L1Upgrade.` prefix, float sumBx, empty events, more objects than slots, other
bunch crossings), and the words equal those the test-vector reader makes of the same objects."""

from __future__ import annotations

import awkward as ak
import h5py
import numpy as np
import pytest

from trigger.data.io import DataError
from trigger.data.l1ntuple import DEFAULT_TREE, Options, convert
from trigger.data.testvectors import N_COLUMNS, MuonPhi, PtHalving, read_testvector

N_EV = 300


def _objects(seed: int):
    """Per event, per kind: lists of (pt, eta, phi[, phi_vtx, eta_raw], bx), in 'hardware' order."""
    rng = np.random.default_rng(seed)
    ev = []
    for e in range(N_EV):
        empty = e % 17 == 0
        def draw(n_max, pt_bits, eta_bits, phi_max):  # noqa: E306
            n = 0 if empty else int(rng.integers(0, n_max + 1))
            return [(int(rng.integers(1, 2**pt_bits)), int(rng.integers(-(2 ** (eta_bits - 1)), 2 ** (eta_bits - 1))),
                     int(rng.integers(0, phi_max)), int(rng.integers(0, 576)), int(rng.integers(-256, 256)),
                     int(rng.choice([0, 0, 0, -1, 1, 2]))) for _ in range(n)]
        sums = [] if empty else [(t, int(rng.integers(0, 4096)), int(rng.integers(0, 144)), int(rng.choice([0, 0, 1, -1])))
                                 for t in rng.permutation([0, 1, 2, 3, 2, 8])]
        if not empty and not any(t == 2 and bx == 0 for t, _, _, bx in sums):
            sums.append((2, int(rng.integers(0, 4096)), int(rng.integers(0, 144)), 0))
        ev.append({"eg": draw(14, 9, 8, 144), "muon": draw(9, 9, 9, 576), "jet": draw(14, 11, 8, 144), "sum": sums})
    return ev


def _write_root(path, ev, tree=DEFAULT_TREE, prefix="", sum_bx_float=False):
    cols = {}
    def jag(name, vals, dtype=np.int16):  # noqa: E306
        cols[prefix + name] = ak.values_astype(ak.Array(vals), dtype)
    for kind, n_name in (("eg", "nEGs"), ("muon", "nMuons"), ("jet", "nJets")):
        objs = [e[kind] for e in ev]
        cols[prefix + n_name] = np.array([len(o) for o in objs], np.uint16)
        jag(f"{kind}IEt", [[o[0] for o in x] for x in objs])
        jag(f"{kind}IEta" if kind != "muon" else "muonIEtaAtVtx", [[o[1] for o in x] for x in objs])
        jag(f"{kind}IPhi", [[o[2] for o in x] for x in objs])
        jag(f"{kind}Bx", [[o[5] for o in x] for x in objs])
        if kind == "muon":
            jag("muonIPhiAtVtx", [[o[3] for o in x] for x in objs])
            jag("muonIEta", [[o[4] for o in x] for x in objs])
    cols[prefix + "nSums"] = np.array([len(e["sum"]) for e in ev], np.uint16)
    jag("sumType", [[s[0] for s in e["sum"]] for e in ev])
    jag("sumIEt", [[s[1] for s in e["sum"]] for e in ev])
    jag("sumIPhi", [[s[2] for s in e["sum"]] for e in ev])
    jag("sumBx", [[s[3] for s in e["sum"]] for e in ev], np.float32 if sum_bx_float else np.int16)
    _ttree(path, tree, cols)


def _ttree(path, tree, cols):
    """A TTree (uproot's dict assignment would write an RNTuple; L1Ntuples are TTrees)."""
    import uproot

    with uproot.recreate(path) as f:
        t = f.mktree(tree, {k: v.type.content if isinstance(v, ak.Array) else v.dtype for k, v in cols.items()})
        t.extend(cols)


def _write_testvector(path, ev, muon_phi: MuonPhi):
    """The same bunch-crossing-0 objects as a uGT test vector (uGT bit fields; 12 e/gamma, 8 muons, 12 jets)."""
    def put(v, lo, hi):  # noqa: E306
        return (int(v) & ((1 << (hi - lo + 1)) - 1)) << lo
    lines = []
    for e in ev:
        cols = [0] * N_COLUMNS
        bx0 = {k: [o for o in e[k] if o[5] == 0] for k in ("eg", "muon", "jet")}
        for k, o in enumerate(bx0["muon"][:8]):
            raw_phi, vtx_phi = o[2], o[3]
            cols[1 + k] = put(o[0], 10, 18) | put(o[1], 23, 31) | put(vtx_phi, 0, 9) | put(raw_phi, 43, 52)
        for k, o in enumerate(bx0["eg"][:12]):
            cols[9 + k] = put(o[0], 0, 8) | put(o[1], 9, 16) | put(o[2], 17, 24)
        for k, o in enumerate(bx0["jet"][:12]):
            cols[33 + k] = put(o[0], 0, 10) | put(o[1], 11, 18) | put(o[2], 19, 26)
        met = [s for s in e["sum"] if s[0] == 2 and s[3] == 0]
        if met:
            cols[47] = put(met[0][1], 0, 11) | put(met[0][2], 12, 19)
        lines.append(" ".join(f"{c:x}" for c in cols))
    path.write_text("\n".join(lines) + "\n")
    return read_testvector(path, muon_phi, PtHalving.emulator)


def _words(path):
    with h5py.File(path, "r") as f:
        return f["words"][()]


@pytest.mark.parametrize("tree, prefix, sum_bx_float", [(DEFAULT_TREE, "", False), ("l1UpgradeTree/L1UpgradeTree", "L1Upgrade.", True)])
@pytest.mark.parametrize("muon_phi", [MuonPhi.raw, MuonPhi.extrapolated])
def test_words_equal_the_test_vector_readers(tmp_path, tree, prefix, sum_bx_float, muon_phi):
    ev = _objects(1)
    _write_root(tmp_path / "a.root", ev[:200], tree, prefix, sum_bx_float)
    _write_root(tmp_path / "b.root", ev[200:], tree, prefix, sum_bx_float)
    r = convert([tmp_path / "a.root", tmp_path / "b.root"], tmp_path / "w.h5", tree, Options(muon_phi=muon_phi), step=64)
    assert r["events"] == N_EV
    got = _words(tmp_path / "w.h5")
    want = _write_testvector(tmp_path / "tv.txt", ev, muon_phi).words
    bad = np.argwhere(got != want)
    assert not len(bad), f"{len(bad)} words differ, first (event, word) {bad[0]}: {got[tuple(bad[0])]} vs {want[tuple(bad[0])]}"
    # the file had what makes this test able to fail: other bunch crossings, overfull events, empty events
    assert any(o[5] != 0 for e in ev for o in e["jet"][:10]) and any(len(e["jet"]) > 10 for e in ev)
    assert (got == 0).all(axis=1).any() and (got[:, 0] % 2 == 0).all()


def test_muon_order_is_kept_and_options_change_words(tmp_path):
    ev = _objects(2)
    _write_root(tmp_path / "a.root", ev)
    raw = convert([tmp_path / "a.root"], tmp_path / "raw.h5")
    words = _words(tmp_path / "raw.h5")
    first_mu = [next((o for o in e["muon"] if o[5] == 0), None) for e in ev]
    pts = np.array([o[0] & ~1 if o else 0 for o in first_mu])
    assert raw["events"] == N_EV and np.array_equal(words[:, 15], pts), "muon 0 must be the file's first bx-0 muon, not re-sorted"
    convert([tmp_path / "a.root"], tmp_path / "x.h5", opt=Options(muon_phi=MuonPhi.extrapolated, pt_halving=PtHalving.exact,
                                                                  muon_eta_at_vertex=False))
    other = _words(tmp_path / "x.h5")
    assert not np.array_equal(words[:, 17], other[:, 17]) and not np.array_equal(words[:, 16], other[:, 16])
    assert (other[:, 0::3] % 2 == 1).any(), "--pt-halving exact keeps the 0.5 GeV bit"


def test_physics_layout(tmp_path):
    from trigger.config import load_config
    from trigger.data.io import read_events
    from trigger.data.units import to_words

    cfg = load_config(None)
    ev = _objects(3)
    _write_root(tmp_path / "a.root", ev)
    convert([tmp_path / "a.root"], tmp_path / "w.h5", opt=Options(muon_phi=MuonPhi.extrapolated))
    convert([tmp_path / "a.root"], tmp_path / "p.h5", opt=Options(muon_phi=MuonPhi.extrapolated), units=cfg.units)
    p = read_events(tmp_path / "p.h5")
    words = _words(tmp_path / "w.h5")
    # in range of the default units, the physics values turn back into the same words; an object whose pT word
    # is 0 (0.5 GeV halved away) is absent in the physics layout: its eta and phi go
    w3 = words.reshape(len(words), -1, 3)
    w3[:, :, 1:] *= (w3[:, :, :1] > 0)
    words = w3.reshape(len(words), -1)
    ok = (words[:, 27::3] < 2**cfg.units.jet.pt_bits).all(axis=1) & (words[:, 0] < 2**cfg.units.met.pt_bits)
    assert ok.sum() > 100
    assert np.array_equal(to_words(p.particles[ok], cfg.units), words[ok])


def test_bad_input_is_named(tmp_path):
    ev = _objects(4)
    _write_root(tmp_path / "a.root", ev)
    with pytest.raises(DataError, match=r"no tree 'nope/T'; the file has trees \['l1UpgradeEmuTree/L1UpgradeTree'\]"):
        convert([tmp_path / "a.root"], tmp_path / "w.h5", tree="nope/T")
    for e in ev:
        e["sum"] = [s for s in e["sum"] if s[0] != 2]
    _write_root(tmp_path / "b.root", ev)
    with pytest.raises(DataError, match=r"no sum of sumType 2 .* sumType values present: \[0, 1, 3, 8\]"):
        convert([tmp_path / "b.root"], tmp_path / "w.h5")
    _ttree(tmp_path / "c.root", DEFAULT_TREE, {"egIEt": ak.values_astype(ak.Array([[1]]), np.int16)})
    with pytest.raises(DataError, match="has no member egIEta"):
        convert([tmp_path / "c.root"], tmp_path / "w.h5")
    (tmp_path / "d.root").write_bytes(b"not root at all")
    with pytest.raises(DataError, match="not a readable ROOT file"):
        convert([tmp_path / "d.root"], tmp_path / "w.h5")
    assert not (tmp_path / "w.h5").exists(), "nothing half-written"
