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

from trigger.data.layout import N_FEATURES, SLOTS

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
    words = np.zeros((n, N_FEATURES), dtype=np.int64)
    pt_mask = ~np.int64(1) if pt_halving is PtHalving.emulator else ~np.int64(0)
    etm = col(COL_ETM)
    at = {g: 3 * SLOTS[g].start for g in SLOTS}  # first word of each object group (layout.SLOTS)
    words[:, at["met"]] = _field(etm, 0, 11) & pt_mask
    words[:, at["met"] + 2] = _field(etm, 12, 19)
    for k in range(SLOTS["egamma"].stop - SLOTS["egamma"].start):
        eg = col(COL_EG + k)
        w = at["egamma"] + 3 * k
        words[:, w : w + 3] = np.stack([_field(eg, 0, 8) & pt_mask, _field(eg, 9, 16, True), _field(eg, 17, 24)], 1)
    for k in range(SLOTS["muon"].stop - SLOTS["muon"].start):
        mu = col(COL_MUON + k)
        phi = _field(mu, 43, 52) if muon_phi is MuonPhi.raw else _field(mu, 0, 9)
        w = at["muon"] + 3 * k
        words[:, w : w + 3] = np.stack([_field(mu, 10, 18) & pt_mask, _field(mu, 23, 31, True), phi], 1)
    for k in range(SLOTS["jet"].stop - SLOTS["jet"].start):
        j = col(COL_JET + k)
        w = at["jet"] + 3 * k
        words[:, w : w + 3] = np.stack([_field(j, 0, 10) & pt_mask, _field(j, 11, 18, True), _field(j, 19, 26)], 1)
    algo = np.array([[(r[COL_ALGO] >> b) & 1 for b in range(N_ALGOS)] for r in rows], dtype=np.int8)
    return TestVector(np.array([r[0] for r in rows], dtype=np.int64), words, algo, np.array([r[COL_FINOR] for r in rows], dtype=np.int64))


def write_words_file(path: str | Path, tv: TestVector, source: str = "") -> None:
    """A words file: `words` (N, 57), `bx`, `algo_bits` (N, 512), `final_or`; written atomically."""
    import h5py

    from trigger.io_utils import atomic_path

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("words", data=tv.words.astype(np.int32))
            f.create_dataset("bx", data=tv.bx)
            f.create_dataset("algo_bits", data=tv.algo_bits, compression="gzip")
            f.create_dataset("final_or", data=tv.final_or)
            f.attrs["source"] = source


def read_algo_bits(path: str | Path, n: int) -> np.ndarray:
    """The `algo_bits` (N, 512) of a words file, for comparing our trigger bits with a menu's."""
    import h5py

    from trigger.data.io import DataError

    try:
        with h5py.File(path, "r") as f:
            if "algo_bits" not in f:
                raise DataError(f"{path}: no dataset 'algo_bits' to compare with (make the file with `trigger data testvectors`)")
            a = f["algo_bits"][()]
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 words file: {exc}") from None
    if len(a) != n:
        raise DataError(f"{path}: 'algo_bits' has {len(a)} rows for {n} events")
    return a


def write_testvector(path: str | Path, words: np.ndarray, bits: np.ndarray, slots: list[int], bx: np.ndarray | None = None) -> None:
    """A uGT test vector of our events: their objects in hardware format, our trigger bits in the given
    algorithm slots, every other field zero (for a firmware team's own simulation). Words must be in the
    57-word order this module reads (pT with its 0.5 GeV bit; muon phi written to both phi fields)."""
    from trigger.io_utils import atomic_write_text

    if bits.shape[1] != len(slots):
        raise TestVectorError(f"{bits.shape[1]} trigger bits for {len(slots)} algorithm slots")
    if any(not 0 <= s < N_ALGOS for s in slots):
        raise TestVectorError(f"algorithm slots must lie in 0..{N_ALGOS - 1}, got {slots}")
    w = np.asarray(words, dtype=np.int64)

    def put(value, lo, hi):
        width = hi - lo + 1
        return (int(value) & ((1 << width) - 1)) << lo

    lines = []
    for e in range(len(w)):
        cols = [0] * N_COLUMNS
        cols[0] = int(bx[e]) if bx is not None else e % 3564
        obj = w[e].reshape(-1, 3)  # (pT, eta, phi) per slot, in layout.SLOTS order
        met = obj[SLOTS["met"].start]
        cols[COL_ETM] = put(met[0], 0, 11) | put(met[2], 12, 19)
        for k, (pt, eta, phi) in enumerate(obj[SLOTS["egamma"]]):
            cols[COL_EG + k] = put(pt, 0, 8) | put(eta, 9, 16) | put(phi, 17, 24)
        for k, (pt, eta, phi) in enumerate(obj[SLOTS["muon"]]):
            cols[COL_MUON + k] = put(pt, 10, 18) | put(eta, 23, 31) | put(phi, 0, 9) | put(phi, 43, 52)
        for k, (pt, eta, phi) in enumerate(obj[SLOTS["jet"]]):
            cols[COL_JET + k] = put(pt, 0, 10) | put(eta, 11, 18) | put(phi, 19, 26)
        algo = sum(int(bits[e, k]) << s for k, s in enumerate(slots))
        cols[COL_ALGO] = algo
        cols[COL_FINOR] = int(algo != 0)
        widths = [4] + [16] * 8 + [8] * 48 + [64, 128, 1]
        lines.append(" ".join(f"{c:0{n}x}" for c, n in zip(cols, widths)))
    atomic_write_text(path, "\n".join(lines) + "\n")
