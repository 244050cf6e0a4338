"""uGT test vectors: reading (field layout, options, errors naming line and column) and writing."""

from __future__ import annotations

import numpy as np
import pytest

from trigger.data.testvectors import (MuonPhi, PtHalving, TestVectorError, read_testvector, write_testvector,
                                      write_words_file)


def _words(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = np.zeros((n, 57), dtype=np.int64)
    w[:, 0], w[:, 2] = rng.integers(0, 4096, n), rng.integers(0, 144, n)
    for k in range(4):
        w[:, 3 + 3 * k : 6 + 3 * k] = np.stack([rng.integers(0, 512, n), rng.integers(-128, 128, n), rng.integers(0, 144, n)], 1)
        w[:, 15 + 3 * k : 18 + 3 * k] = np.stack([rng.integers(0, 512, n), rng.integers(-256, 256, n), rng.integers(0, 576, n)], 1)
    for k in range(10):
        w[:, 27 + 3 * k : 30 + 3 * k] = np.stack([rng.integers(0, 2048, n), rng.integers(-128, 128, n), rng.integers(0, 144, n)], 1)
    return w


def test_write_then_read_round_trip(tmp_path):
    w = _words(50)
    bits = np.random.default_rng(1).integers(0, 2, size=(50, 3))
    write_testvector(tmp_path / "tv.txt", w, bits, [439, 7, 511])
    exact = read_testvector(tmp_path / "tv.txt", MuonPhi.raw, PtHalving.exact)
    assert np.array_equal(exact.words, w)
    assert np.array_equal(exact.algo_bits[:, [439, 7, 511]], bits) and exact.algo_bits.sum() == bits.sum()
    assert np.array_equal(exact.final_or, bits.any(axis=1))
    emu = read_testvector(tmp_path / "tv.txt")  # the software emulator's convention drops the 0.5 GeV bit
    pt = [0, *range(3, 57, 3)]
    assert np.array_equal(emu.words[:, pt], w[:, pt] & ~1)
    assert np.array_equal(read_testvector(tmp_path / "tv.txt", MuonPhi.extrapolated, PtHalving.exact).words, w)


def test_words_file(tmp_path):
    import h5py

    from trigger.data.words import read_words

    write_testvector(tmp_path / "tv.txt", _words(5), np.zeros((5, 1), int), [1])
    write_words_file(tmp_path / "w.h5", read_testvector(tmp_path / "tv.txt"))
    with h5py.File(tmp_path / "w.h5") as f:
        assert f["words"].shape == (5, 57) and f["algo_bits"].shape == (5, 512)
    words, particles = read_words(tmp_path / "w.h5", None, 57)
    assert particles is None and words.shape == (5, 57)


@pytest.mark.parametrize("edit,msg", [
    (lambda lines: lines.__setitem__(1, lines[1] + " 00"), r"tv.txt:2: expected 60 columns, got 61"),
    (lambda lines: lines.__setitem__(2, " ".join(t if i != 12 else "0zz1" for i, t in enumerate(lines[2].split()))), r"tv.txt:3: column 12: '0zz1' is not a hex number"),
    (lambda lines: lines.clear(), r"no bunch crossings"),
])
def test_bad_files_name_line_and_column(tmp_path, edit, msg):
    write_testvector(tmp_path / "tv.txt", _words(4), np.zeros((4, 1), int), [0])
    lines = (tmp_path / "tv.txt").read_text().splitlines()
    edit(lines)
    (tmp_path / "tv.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(TestVectorError, match=msg):
        read_testvector(tmp_path / "tv.txt")
