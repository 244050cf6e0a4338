"""Pythia final-state particles -> Level-1-like objects (MET, e/gamma, muons, anti-kt 0.4 jets).

Every acceptance cut, isolation cut and resolution is one of the constants below.
"""

from __future__ import annotations

import awkward as ak
import fastjet
import numpy as np

from trigger.data.layout import N_OBJECTS, SLOT_CLASS, SLOTS
from trigger.data.regions import region_images

# --- acceptance (ADC2021 object definitions) ---
ELECTRON_PT_MIN, ELECTRON_ETA_MAX = 3.0, 3.0
MUON_PT_MIN, MUON_ETA_MAX = 3.0, 2.1
JET_PT_MIN, JET_ETA_MAX, JET_R = 15.0, 4.0, 0.4
CALO_ETA_MAX = 5.0  # visible particles beyond this escape the detector and feed MET
# --- isolation: sum pT of other visible particles within ISO_CONE, relative to the lepton pT ---
# Loose, like the L1 e/gamma isolation; L1 muons carry none. QCD passes the lepton filter
# through heavy-flavour decays, whose leptons are rarely isolated: a tight cut would remove it.
ISO_CONE = 0.3
ISO_REL_MAX = {11: 1.0, 13: float("inf")}
# --- resolution smearing (Gaussian) ---
ELECTRON_PT_RES = 0.03  # sigma(pT)/pT
MUON_PT_RES = 0.02
JET_PT_RES_STOCH, JET_PT_RES_CONST = 1.0, 0.05  # sigma/pT = a/sqrt(pT) (+) b
MET_RES_SUMET = 0.5  # sigma(MET_x,y) = a * sqrt(sum ET)
# --- ADC2021 lepton prefilter ---
LEPTON_FILTER_PT = 23.0

INVISIBLE_IDS = np.array([12, 14, 16, 1000012, 1000014, 1000016, 1000022, 1000039, 4900101])


def _kinematics(px, py, pz):
    pt = np.hypot(px, py)
    p = np.sqrt(pt * pt + pz * pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arctanh(np.where(p > 0, pz / np.where(p > 0, p, 1.0), 0.0))
    eta = np.nan_to_num(eta, posinf=20.0, neginf=-20.0)
    return pt, eta, np.arctan2(py, px)


def _dphi(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def _leptons(pid, pt, eta, phi, visible, abs_id, pt_min, eta_max, res, rng):
    """Isolated leptons of one flavour in one event: (pt, eta, phi, index) sorted by smeared pT."""
    cand = np.flatnonzero((np.abs(pid) == abs_id) & (pt > pt_min) & (np.abs(eta) < eta_max))
    keep = []
    for i in cand:
        dr2 = (eta[visible] - eta[i]) ** 2 + _dphi(phi[visible], phi[i]) ** 2
        iso = pt[visible][dr2 < ISO_CONE**2].sum() - pt[i]
        if iso < ISO_REL_MAX[abs_id] * pt[i]:
            keep.append(i)
    keep = np.array(keep, dtype=np.int64)
    spt = pt[keep] * (1 + res * rng.standard_normal(keep.size))
    order = np.argsort(-spt, kind="stable")
    return np.clip(spt[order], 0, None), eta[keep][order], phi[keep][order], keep[order]


def build_objects(batch, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One Pythia batch (pythia8mc nextBatch) -> ((N, 19, 4) float64 in the ADC2021 layout, (N, 18, 14) uint16
    calorimeter region images, trigger.data.regions). The images draw no random numbers: the objects' bytes do not
    depend on whether they are made."""
    prt = batch.prt
    prt = prt[prt.status > 0]
    counts = ak.to_numpy(ak.num(prt))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = ak.flatten(prt)
    pid = ak.to_numpy(flat.id)
    px, py, pz, e = (ak.to_numpy(flat.p[c]) for c in ("px", "py", "pz", "e"))
    pt, eta, phi = _kinematics(px, py, pz)
    invisible = np.isin(np.abs(pid), INVISIBLE_IDS)
    visible = ~invisible & (np.abs(eta) < CALO_ETA_MAX)

    n = len(counts)
    event = np.repeat(np.arange(n), counts)
    deposits = visible & (np.abs(pid) != 13)
    with np.errstate(divide="ignore", invalid="ignore"):
        et = np.where(deposits, e * pt / np.hypot(pt, pz), 0.0)  # E sin(theta)
    regions = region_images(event[deposits], et[deposits], eta[deposits], phi[deposits], n)
    out = np.zeros((n, N_OBJECTS, 4), dtype=np.float64)
    cluster = np.zeros(len(pid), dtype=bool)
    met_xy = np.zeros((n, 2))
    for k in range(n):
        s = slice(offsets[k], offsets[k + 1])
        vis = visible[s]
        args = (pid[s], pt[s], eta[s], phi[s], vis)
        used = []
        for name, abs_id, pt_min, eta_max, res in (
            ("egamma", 11, ELECTRON_PT_MIN, ELECTRON_ETA_MAX, ELECTRON_PT_RES),
            ("muon", 13, MUON_PT_MIN, MUON_ETA_MAX, MUON_PT_RES),
        ):
            lpt, leta, lphi, idx = _leptons(*args, abs_id, pt_min, eta_max, res, rng)
            sl = SLOTS[name]
            m = min(len(lpt), sl.stop - sl.start)
            out[k, sl.start : sl.start + m, 0] = lpt[:m]
            out[k, sl.start : sl.start + m, 1] = leta[:m]
            out[k, sl.start : sl.start + m, 2] = lphi[:m]
            used.append(idx)
        c = vis.copy()
        c[np.concatenate(used)] = False
        c &= np.abs(pid[s]) != 13  # muons are not seen by the calorimeter jets
        cluster[s] = c
        vpt, vphi = pt[s][vis], phi[s][vis]
        sumet = vpt.sum()
        met_xy[k] = (-(vpt * np.cos(vphi)).sum(), -(vpt * np.sin(vphi)).sum())
        met_xy[k] += MET_RES_SUMET * np.sqrt(sumet) * rng.standard_normal(2)

    met_pt = np.hypot(met_xy[:, 0], met_xy[:, 1])
    out[:, 0, 0] = met_pt
    out[:, 0, 2] = np.arctan2(met_xy[:, 1], met_xy[:, 0])

    _jets(out, px, py, pz, e, cluster, offsets, rng)
    present = out[:, :, 0] > 0
    out[:, :, 3] = np.where(present, SLOT_CLASS[None, :], 0)
    out[~present] = 0.0
    return out, regions


def _jets(out, px, py, pz, e, cluster, offsets, rng):
    counts = np.diff(offsets)
    sel = np.repeat(np.arange(len(counts)), counts)[cluster]
    ccounts = np.bincount(sel, minlength=len(counts))
    parts = ak.unflatten(
        ak.zip({"px": px[cluster], "py": py[cluster], "pz": pz[cluster], "E": e[cluster]}), ccounts
    )
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R)
    jets = fastjet.ClusterSequence(parts, jetdef).inclusive_jets()
    jcounts = ak.to_numpy(ak.num(jets))
    flat = ak.flatten(jets)
    jpt, jeta, jphi = _kinematics(*(ak.to_numpy(flat[c]) for c in ("px", "py", "pz")))
    res = np.hypot(JET_PT_RES_STOCH / np.sqrt(np.maximum(jpt, 1.0)), JET_PT_RES_CONST)
    jpt = np.clip(jpt * (1 + res * rng.standard_normal(jpt.size)), 0, None)
    sl = SLOTS["jet"]
    start = 0
    for k, nj in enumerate(jcounts):
        p, h, f = jpt[start : start + nj], jeta[start : start + nj], jphi[start : start + nj]
        start += nj
        ok = (p > JET_PT_MIN) & (np.abs(h) < JET_ETA_MAX)
        p, h, f = p[ok], h[ok], f[ok]
        order = np.argsort(-p, kind="stable")[: sl.stop - sl.start]
        m = len(order)
        out[k, sl.start : sl.start + m, 0] = p[order]
        out[k, sl.start : sl.start + m, 1] = h[order]
        out[k, sl.start : sl.start + m, 2] = f[order]


def lepton_filter(particles: np.ndarray) -> np.ndarray:
    """ADC2021 prefilter: at least one electron or muon with pT > 23 GeV."""
    leps = particles[:, SLOTS["egamma"].start : SLOTS["muon"].stop, 0]
    return (leps > LEPTON_FILTER_PT).any(axis=1)
