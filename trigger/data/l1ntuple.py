"""CMS L1Ntuples (ROOT files of CMSSW's L1TNtuples) into our 57 words, or into the ADC2021 layout.

The tree's `L1Upgrade` branch holds L1AnalysisL1UpgradeDataFormat: per object vectors of hardware integers
(egIEt, egIEta, egIPhi, egBx, muonIEt, ..., jetIEt, ..., sumType, sumIEt, sumIPhi, sumBx). We take the objects of
bunch crossing 0 in the file's order (the hardware's, which CMSSW's condition uses: the Global Trigger ranks muons
by more than pT, so no re-sorting), the first 4 e/gamma, 4 muons and 10 jets, and MET = the sum with sumType 2
(kMissingEt), with the test-vector reader's conventions (trigger.data.testvectors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigger.data.io import DataError
from trigger.data.layout import N_FEATURES, SLOT_CLASS, SLOTS
from trigger.data.testvectors import MuonPhi, PtHalving

DEFAULT_TREE = "l1UpgradeEmuTree/L1UpgradeTree"
MET_SUM_TYPE = 2  # L1AnalysisL1UpgradeDataFormat: kTotalEt 0, kTotalHt 1, kMissingEt 2, kMissingHt 3, ...
OBJECTS = (("egamma", "eg"), ("muon", "muon"), ("jet", "jet"))  # our slot group, the ntuple's member prefix


@dataclass(frozen=True)
class Options:
    muon_phi: MuonPhi = MuonPhi.raw  # raw: muonIPhi (at the muon system); extrapolated: muonIPhiAtVtx
    muon_eta_at_vertex: bool = True  # muonIEtaAtVtx (the uGT's muon eta field) or muonIEta
    pt_halving: PtHalving = PtHalving.emulator

    def members(self) -> list[str]:
        mu_eta = "muonIEtaAtVtx" if self.muon_eta_at_vertex else "muonIEta"
        mu_phi = "muonIPhiAtVtx" if self.muon_phi is MuonPhi.extrapolated else "muonIPhi"
        return ["egIEt", "egIEta", "egIPhi", "egBx", "muonIEt", mu_eta, mu_phi, "muonBx", "jetIEt", "jetIEta", "jetIPhi", "jetBx",
                "sumType", "sumIEt", "sumIPhi", "sumBx"]


def _open_tree(path: Path, tree: str):
    import uproot

    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        f = uproot.open(path)
    except Exception as exc:  # uproot raises several kinds for a file that is not ROOT
        raise DataError(f"{path}: not a readable ROOT file: {exc}") from None
    try:
        t = f[tree]
    except KeyError:
        t = None
    if t is None or not t.classname.startswith("TTree"):
        have = sorted(k.split(";")[0] for k, c in f.classnames(recursive=True).items() if c.startswith("TTree"))
        raise DataError(f"{path}: no tree {tree!r}; the file has trees {have or 'none'} (choose one with --tree)")
    return t


def _find(tree, path: Path, names: list[str]) -> dict[str, str]:
    """Each member's branch, whether the file shows it as `jetIEt`, `L1Upgrade.jetIEt` or `L1Upgrade/jetIEt`."""
    by_leaf = {}
    for k in tree.keys(recursive=True, full_paths=True):
        parts = re.split(r"[./]", k)
        if len(parts) == 1 or parts[-2] == "L1Upgrade":  # not uproot's counters such as nL1Upgrade.jetIEt
            by_leaf.setdefault(parts[-1], k)
    missing = [n for n in names if n not in by_leaf]
    if missing:
        shown = sorted(by_leaf)[:60]
        raise DataError(f"{path}: tree {tree.object_path} has no member {', '.join(missing)} (L1AnalysisL1UpgradeDataFormat); "
                        f"it has {shown}{' ...' if len(by_leaf) > 60 else ''}")
    return {n: by_leaf[n] for n in names}


def _first_n(values, keep, n: int) -> np.ndarray:
    """(events, n) int64: the kept entries of a jagged array, in order, the first n, zero-padded."""
    import awkward as ak

    v = values[keep][:, :n]
    return ak.to_numpy(ak.fill_none(ak.pad_none(v, n, clip=True), 0)).astype(np.int64)


def chunk_words(a: dict, opt: Options, source: str, first_event: int) -> np.ndarray:
    """(N, 57) words of one chunk; a: member name -> jagged array."""
    import awkward as ak

    n_ev = len(a["sumType"])
    words = np.zeros((n_ev, N_FEATURES), dtype=np.int64)
    pt_mask = ~np.int64(1) if opt.pt_halving is PtHalving.emulator else ~np.int64(0)
    mu_eta = "muonIEtaAtVtx" if opt.muon_eta_at_vertex else "muonIEta"
    mu_phi = "muonIPhiAtVtx" if opt.muon_phi is MuonPhi.extrapolated else "muonIPhi"
    names = {"eg": ("egIEt", "egIEta", "egIPhi"), "muon": ("muonIEt", mu_eta, mu_phi), "jet": ("jetIEt", "jetIEta", "jetIPhi")}
    for group, prefix in OBJECTS:
        sl = SLOTS[group]
        n = sl.stop - sl.start
        keep = a[f"{prefix}Bx"] == 0
        pt, eta, phi = (_first_n(a[m], keep, n) for m in names[prefix])
        words[:, 3 * sl.start : 3 * sl.stop] = np.stack([pt & pt_mask, eta, phi], axis=2).reshape(n_ev, -1)
    met = (a["sumType"] == MET_SUM_TYPE) & (a["sumBx"] == 0)
    has_met = ak.to_numpy(ak.any(met, axis=1))
    if n_ev and not has_met.any():
        types = sorted(set(ak.to_numpy(ak.flatten(a["sumType"])).tolist()))
        raise DataError(f"{source}: events {first_event}..{first_event + n_ev - 1} have no sum of sumType {MET_SUM_TYPE} "
                        f"(kMissingEt) at bunch crossing 0; sumType values present: {types}. An unknown sumType layout: "
                        "this reader expects L1AnalysisL1UpgradeDataFormat's")
    words[:, 0] = _first_n(a["sumIEt"], met, 1)[:, 0] & pt_mask
    words[:, 2] = _first_n(a["sumIPhi"], met, 1)[:, 0]
    return words


def iterate_words(paths: list[Path], tree: str = DEFAULT_TREE, opt: Options = Options(), step: int = 200_000, progress=None):
    """Yield (file, first event, (n, 57) words) chunk by chunk over every file."""
    names = opt.members()
    for path in map(Path, paths):
        t = _open_tree(path, tree)
        branches = _find(t, path, names)
        first = 0
        for arrays in t.iterate(list(branches.values()), step_size=step, library="ak"):
            a = {n: arrays[b] for n, b in branches.items()}
            w = chunk_words(a, opt, f"{path}:{tree}", first)
            yield path, first, w
            first += len(w)
            if progress is not None:
                progress(len(w))


def physics(words: np.ndarray, units) -> np.ndarray:
    """(N, 19, 4) ADC2021 layout (pT GeV, eta, phi rad, class) of hardware words."""
    from trigger.data.units import from_words

    p = from_words(words, units)
    present = p[:, :, 0] > 0
    return np.concatenate([p, np.where(present, SLOT_CLASS[None, :], 0)[:, :, None]], axis=2)


def convert(paths: list[Path], out: Path, tree: str = DEFAULT_TREE, opt: Options = Options(), units=None,
            step: int = 200_000) -> dict:
    """Every event of the files into one words file (or, with units, the ADC2021 layout), written chunk by chunk
    to a temporary file that replaces `out` only when complete."""
    import h5py

    from trigger.data.io import validate
    from trigger.data.layout import CLASS_NAMES, N_OBJECTS, PARTICLE_NAMES
    from trigger.io_utils import atomic_path
    from trigger.progress import bar

    total = sum(_open_tree(Path(p), tree).num_entries for p in paths)
    n = 0
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f, bar(f"reading {len(paths)} L1Ntuple file(s)", total) as advance:
        if units is None:
            ds = f.create_dataset("words", shape=(0, N_FEATURES), maxshape=(None, N_FEATURES), dtype=np.int32, chunks=(4096, N_FEATURES))
        else:
            ds = f.create_dataset("Particles", shape=(0, N_OBJECTS, 4), maxshape=(None, N_OBJECTS, 4), dtype=np.float32,
                                  chunks=(4096, N_OBJECTS, 4), compression="gzip", shuffle=True)
            f.create_dataset("Particles_Names", data=np.array(PARTICLE_NAMES))
            f.create_dataset("Particles_Classes", data=np.array(CLASS_NAMES))
        for path, first, w in iterate_words(paths, tree, opt, step, advance):
            block = w.astype(np.int32) if units is None else physics(w, units)
            if units is not None:
                validate(block, np.ones(len(block)), f"{path}", first)
            ds.resize(n + len(block), axis=0)
            ds[n:] = block
            n += len(block)
        f.attrs["source"] = " ".join(str(p) for p in paths)
        f.attrs["options"] = (f"tree={tree} muon_phi={opt.muon_phi.value} muon_eta_at_vertex={opt.muon_eta_at_vertex} "
                              f"pt_halving={opt.pt_halving.value}")
    return {"events": n, "out": str(out), "layout": "words" if units is None else "ADC2021 Particles"}
