"""Calorimeter region images: the geometry by hand, the quantisation, the file dataset and who reads it."""

import numpy as np
import pytest

from trigger.data.io import DataError, read_regions, write_events
from trigger.data.regions import N_ETA, N_PHI, as_words, region_images, region_index
from trigger.data.words import read_words, reads_particles, reads_regions
from tests.synthetic import synthetic_events

DEG20 = 2 * np.pi / 18


@pytest.mark.parametrize("eta, phi, iphi, ieta", [
    (0.1, 0.1, 0, 7), (-0.1, 0.1, 0, 6),            # either side of eta = 0
    (0.348, 0.1, 0, 8), (0.3479, 0.1, 0, 7),        # the first tower-aligned edge
    (1.5, 0.1, 0, 11), (-1.5, 0.1, 0, 2),           # endcap: [1.392, 1.740)
    (2.9, 0.1, 0, 13), (-2.9, 0.1, 0, 0),           # the outermost regions
    (3.0, 0.1, 0, -1), (-3.2, 0.1, 0, -1),          # HF: outside the image
    (0.1, -0.1, 17, 7), (0.1, np.pi, 9, 7),         # phi wraps: -0.1 rad is the last phi row
    (0.1, 2.5 * DEG20, 2, 7),
])
def test_region_index(eta, phi, iphi, ieta):
    i, j = region_index(np.array([eta]), np.array([phi]))
    assert (int(i[0]), int(j[0])) == ((iphi if ieta >= 0 else int(i[0])), ieta)


def test_region_sums_then_floors_and_saturates():
    event = np.array([0, 0, 0, 1, 1, 1])
    et = np.array([0.3, 0.3, 0.49, 600.0, 0.7, 5.0])
    eta = np.array([0.1, 0.2, -0.1, 0.1, 0.1, 3.5])     # the last is in the HF: dropped
    phi = np.array([0.1, 0.2, 0.1, 0.1, 0.1, 0.1])
    img = region_images(event, et, eta, phi, 3)
    assert img.shape == (3, N_PHI, N_ETA) and img.dtype == np.uint16
    assert img[0, 0, 7] == 1          # 0.3 + 0.3 = 0.6 GeV -> one 0.5 GeV count (summed before the floor)
    assert img[0, 0, 6] == 0          # 0.49 GeV -> 0
    assert img[1, 0, 7] == 1023       # 600.7 GeV saturates at 10 bits
    assert img.sum() == 1 + 1023 and not img[2].any()
    words = as_words(img)
    assert words.shape == (3, 252) and words[1, 14 * 0 + 7] == 1023   # index 14 * iphi + ieta


def test_regions_dataset_feeds_a_252_input_design(tmp_path):
    p = synthetic_events(20, seed=1)
    rng = np.random.default_rng(0)
    regions = rng.integers(0, 1024, size=(20, N_PHI, N_ETA)).astype(np.uint16)
    write_events(tmp_path / "x.h5", p, regions=regions)
    assert np.array_equal(read_regions(tmp_path / "x.h5"), regions)
    assert reads_regions(tmp_path / "x.h5", 252) and not reads_particles(tmp_path / "x.h5", 252)
    assert not reads_regions(tmp_path / "x.h5", 57) and reads_particles(tmp_path / "x.h5", 57)
    words, _ = read_words(tmp_path / "x.h5", None, 252)
    assert np.array_equal(words, regions.reshape(20, 252))
    with pytest.raises(DataError, match="region images of shape"):
        write_events(tmp_path / "y.h5", p, regions=regions[:, :, :13])
    assert not (tmp_path / "y.h5").exists()
    write_events(tmp_path / "z.h5", p)
    with pytest.raises(DataError, match="z.h5: no dataset 'Regions'"):
        read_regions(tmp_path / "z.h5")


def test_region_values_out_of_range_are_named(tmp_path):
    import h5py

    write_events(tmp_path / "x.h5", synthetic_events(5, seed=2), regions=np.zeros((5, N_PHI, N_ETA), np.uint16))
    with h5py.File(tmp_path / "x.h5", "r+") as f:
        f["Regions"][0, 0, 0] = 1024
    with pytest.raises(DataError, match="x.h5: field 'Regions' has values outside 0..1023"):
        read_regions(tmp_path / "x.h5")


def test_emulate_reads_the_region_images_of_a_generated_file(tmp_path):
    """`trigger emulate` on a generated file with a calorimeter-image design: the scores of its Regions."""
    import h5py

    from designs import calo_like
    from emulator import Emulator
    from trigger.design import design_from_dict, save_design
    from trigger.verify.emulate import emulate_file

    d = design_from_dict(calo_like())
    save_design(d, tmp_path / "b" / "design.yaml")
    rng = np.random.default_rng(4)
    regions = np.minimum(rng.exponential(8, size=(300, N_PHI, N_ETA)), 1023).astype(np.uint16)
    write_events(tmp_path / "x.h5", synthetic_events(300, seed=3), regions=regions)
    n = emulate_file(tmp_path / "b", tmp_path / "x.h5", tmp_path / "out.h5", units=None, chunk=128)
    with h5py.File(tmp_path / "out.h5", "r") as f:
        score, words = f["score"][()], f["words"][()]
    want = Emulator(d).run(as_words(regions))[1]
    assert n == 300 and np.array_equal(words, as_words(regions)) and np.array_equal(score, want)
    assert np.unique(want).size > 50
