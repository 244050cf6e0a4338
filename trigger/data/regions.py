"""Calorimeter Layer-1 region images: the 18 x 14 ET grid a calorimeter-image trigger (CICADA) sees.

Geometry: 18 regions in phi (20 degrees each, iphi = floor(phi / 20 deg) with phi in [0, 2 pi)) and 14 in eta, 7 per
side over |eta| < 3 (barrel and endcap; the HF is not part of the image). A region is 4 x 4 trigger towers, so its
eta edges follow the tower boundaries (0.087 per tower in the barrel, wider in the endcap), not a uniform 0.35 grid.
ieta runs from eta = -3 (0) to +3 (13); the flat word index is 14 * iphi + ieta, as CICADA reads its input.

What deposits: every visible final-state particle with |eta| < 3 except muons (minimum-ionising: the L1 calorimeter
sees almost nothing of them) and invisible particles (neutrinos, LSPs: INVISIBLE_IDS). Its ET = E sin(theta) is
added to its region; the region's sum becomes floor(ET / 0.5 GeV) saturated at 1023 (10 bits). Not modelled: the
calorimeter response, calibration, noise and pileup, and the per-tower quantisation before summing.
"""

from __future__ import annotations

import numpy as np

N_PHI, N_ETA = 18, 14
N_REGIONS = N_PHI * N_ETA
ETA_EDGES = np.array([0.0, 0.348, 0.696, 1.044, 1.392, 1.740, 2.172, 3.0])  # |eta| edges of the 7 regions per side
ET_LSB = 0.5  # GeV per count
ET_MAX = 1023  # 10-bit saturation


def region_index(eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(iphi, ieta) of each position; ieta = -1 where |eta| >= 3 (outside the image)."""
    side = np.searchsorted(ETA_EDGES, np.abs(eta), side="right") - 1  # 0..6 inside, 7 beyond 3.0
    inside = side < N_ETA // 2
    ieta = np.where(eta >= 0, N_ETA // 2 + side, N_ETA // 2 - 1 - side)
    iphi = np.floor(np.mod(phi, 2 * np.pi) / (2 * np.pi / N_PHI)).astype(np.int64)
    iphi = np.minimum(iphi, N_PHI - 1)  # mod can return 2 pi itself by rounding
    return iphi, np.where(inside, ieta, -1)


def region_images(event: np.ndarray, et: np.ndarray, eta: np.ndarray, phi: np.ndarray, n_events: int) -> np.ndarray:
    """Depositing particles (their event index, ET, eta, phi) -> (n_events, 18, 14) uint16 region counts."""
    iphi, ieta = region_index(eta, phi)
    ok = ieta >= 0
    flat = (event[ok] * N_REGIONS + iphi[ok] * N_ETA + ieta[ok]).astype(np.int64)
    sums = np.bincount(flat, weights=et[ok], minlength=n_events * N_REGIONS)
    counts = np.minimum(np.floor(sums / ET_LSB), ET_MAX).astype(np.uint16)
    return counts.reshape(n_events, N_PHI, N_ETA)


def as_words(regions: np.ndarray) -> np.ndarray:
    """(N, 18, 14) images -> (N, 252) input words in CICADA's order (14 * iphi + ieta)."""
    return np.ascontiguousarray(regions.reshape(len(regions), N_REGIONS))
