"""CMS uGT test vectors: one bunch crossing per line of hex columns, the Global Trigger's input objects in
hardware format plus the 512 algorithm bits the menu emulator computed.

Columns (uGT firmware gtl_pkg.vhd): 0 bunch crossing; 1-8 muons (64 bit); 9-20 e/gamma; 21-32 taus;
33-44 jets; 45-50 ETT, HTT, ETM, HTM, ETMHF, HTMHF; 51-56 further sums; 57 external conditions;
58 algorithm bits (bit b of the hex number = algorithm b); 59 final OR.

Read into our 57 input words (MET, 4 e/gamma, 4 muons, 10 jets; pT, eta, phi), with the conventions that
differ between menus and between the software emulator and the firmware as options.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

N_COLUMNS = 60
N_ALGOS = 512
COL_MUON, COL_EG, COL_TAU, COL_JET, COL_ETM = 1, 9, 21, 33, 47
COL_EXT, COL_ALGO, COL_FINOR = 57, 58, 59


class MuonPhi(str, Enum):
    raw = "raw"  # phi at the muon system, bits [52:43]: the 2024 menus' emulator
    extrapolated = "extrapolated"  # phi extrapolated to the vertex, bits [9:0]: the 2025 menus


class PtHalving(str, Enum):
    emulator = "emulator"  # the software emulator drops the 0.5 GeV bit (integer GeV)
    exact = "exact"  # keep the hardware word as it is


class TestVectorError(ValueError):
    pass


def _field(v: np.ndarray, lo: int, hi: int, signed: bool = False) -> np.ndarray:
    width = hi - lo + 1
    x = (v >> np.uint64(lo)) & np.uint64((1 << width) - 1)
    x = x.astype(np.int64)
    if signed:
        x = np.where(x >= 1 << (width - 1), x - (1 << width), x)
    return x


@dataclass
class TestVector:
    bx: np.ndarray  # (N,) bunch-crossing numbers
    words: np.ndarray  # (N, 57) raw input words in our order
    algo_bits: np.ndarray  # (N, 512) of 0/1
    final_or: np.ndarray  # (N,)


def _hex(tok: str, path: Path, line: int, col: int) -> int:
    try:
        return int(tok, 16)
    except ValueError:
        raise TestVectorError(f"{path}:{line}: column {col}: {tok!r} is not a hex number") from None


def read_testvector(path: str | Path, muon_phi: MuonPhi = MuonPhi.raw, pt_halving: PtHalving = PtHalving.emulator) -> TestVector:
    path = Path(path)
    if not path.is_file():
        raise TestVectorError(f"{path}: test-vector file not found")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        toks = line.split()
        if len(toks) != N_COLUMNS:
            raise TestVectorError(f"{path}:{n}: expected {N_COLUMNS} columns, got {len(toks)}")
        rows.append([_hex(t, path, n, c) for c, t in enumerate(toks)])
    if not rows:
        raise TestVectorError(f"{path}: no bunch crossings in the file")
    obj = np.array([[r[c] for c in range(COL_MUON, COL_ETM + 1)] for r in rows], dtype=np.uint64)
    col = lambda c: obj[:, c - COL_MUON]  # noqa: E731
    n = len(rows)
    words = np.zeros((n, 57), dtype=np.int64)
    pt_mask = ~np.int64(1) if pt_halving is PtHalving.emulator else ~np.int64(0)
    etm = col(COL_ETM)
    words[:, 0] = _field(etm, 0, 11) & pt_mask
    words[:, 2] = _field(etm, 12, 19)
    for k in range(4):
        eg = col(COL_EG + k)
        words[:, 3 + 3 * k : 6 + 3 * k] = np.stack([_field(eg, 0, 8) & pt_mask, _field(eg, 9, 16, True), _field(eg, 17, 24)], 1)
    for k in range(4):
        mu = col(COL_MUON + k)
        phi = _field(mu, 43, 52) if muon_phi is MuonPhi.raw else _field(mu, 0, 9)
        words[:, 15 + 3 * k : 18 + 3 * k] = np.stack([_field(mu, 10, 18) & pt_mask, _field(mu, 23, 31, True), phi], 1)
    for k in range(10):
        j = col(COL_JET + k)
        words[:, 27 + 3 * k : 30 + 3 * k] = np.stack([_field(j, 0, 10) & pt_mask, _field(j, 11, 18, True), _field(j, 19, 26)], 1)
    algo = np.array([[(r[COL_ALGO] >> b) & 1 for b in range(N_ALGOS)] for r in rows], dtype=np.int8)
    return TestVector(np.array([r[0] for r in rows], dtype=np.int64), words, algo, np.array([r[COL_FINOR] for r in rows], dtype=np.int64))
