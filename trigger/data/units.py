"""Physics values <-> Level-1 integer words. pT and eta round to their LSB; phi is an unsigned bin index."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from trigger.config import UnitsConfig
from trigger.data.layout import GROUPS, N_OBJECTS, SLOTS

log = logging.getLogger(__name__)


@dataclass
class SaturationCount:
    """How many fields hit their limit, by field name."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        if n:
            self.counts[name] = self.counts.get(name, 0) + int(n)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def field_ranges(units: UnitsConfig) -> np.ndarray:
    """(57, 2) array of the inclusive [min, max] integer value of every word."""
    out = np.zeros((N_OBJECTS, 3, 2), dtype=np.int64)
    for name, _, _ in GROUPS:
        u = getattr(units, name)
        sl = SLOTS[name]
        out[sl, 0] = (0, 2**u.pt_bits - 1)
        out[sl, 1] = (-(2 ** (u.eta_bits - 1)), 2 ** (u.eta_bits - 1) - 1)
        out[sl, 2] = (0, u.phi_bins - 1)
    return out.reshape(-1, 2)


def field_bits(units: UnitsConfig) -> list[tuple[int, bool]]:
    """(width, signed) of each of the 57 words."""
    out = []
    for name, _, n in GROUPS:
        u = getattr(units, name)
        out += [(u.pt_bits, False), (u.eta_bits, True), (u.phi_bits, False)] * n
    return out


def to_words(particles: np.ndarray, units: UnitsConfig, saturation: SaturationCount | None = None) -> np.ndarray:
    """(N, 19, >=3) physics (pT GeV, eta, phi rad) -> (N, 57) int64 words. Out-of-range values saturate and are counted."""
    p = np.asarray(particles, dtype=np.float64)
    words = np.zeros((p.shape[0], N_OBJECTS, 3), dtype=np.int64)
    sat = saturation if saturation is not None else SaturationCount()
    for name, _, _ in GROUPS:
        u = getattr(units, name)
        sl = SLOTS[name]
        pt, eta, phi = p[:, sl, 0], p[:, sl, 1], p[:, sl, 2]
        present = pt > 0
        pt_w = np.rint(pt / u.pt_lsb)
        eta_w = np.rint(eta / u.eta_lsb)
        phi_w = np.mod(np.rint(phi / (2 * np.pi / u.phi_bins)), u.phi_bins)
        pt_max, eta_max = 2**u.pt_bits - 1, 2 ** (u.eta_bits - 1) - 1
        sat.add(f"{name}.pt", np.count_nonzero(pt_w > pt_max))
        sat.add(f"{name}.eta", np.count_nonzero(present & ((eta_w > eta_max) | (eta_w < -eta_max - 1))))
        words[:, sl, 0] = np.clip(pt_w, 0, pt_max)
        words[:, sl, 1] = np.where(present, np.clip(eta_w, -eta_max - 1, eta_max), 0)
        words[:, sl, 2] = np.where(present, phi_w, 0)
    if saturation is None and sat.total:
        log.warning("saturated %d fields converting to hardware words: %s", sat.total, sat.counts)
    return words.reshape(p.shape[0], -1)


def from_words(words: np.ndarray, units: UnitsConfig) -> np.ndarray:
    """(N, 57) words -> (N, 19, 3) physics values; the inverse of to_words on in-range values."""
    w = np.asarray(words, dtype=np.int64).reshape(-1, N_OBJECTS, 3)
    out = np.zeros(w.shape, dtype=np.float64)
    for name, _, _ in GROUPS:
        u = getattr(units, name)
        sl = SLOTS[name]
        out[:, sl, 0] = w[:, sl, 0] * u.pt_lsb
        out[:, sl, 1] = w[:, sl, 1] * u.eta_lsb
        phi = w[:, sl, 2] * (2 * np.pi / u.phi_bins)
        out[:, sl, 2] = np.where(phi > np.pi, phi - 2 * np.pi, phi)
    return out
