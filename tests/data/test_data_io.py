import h5py
import numpy as np
import pytest

from synthetic import synthetic_events
from trigger.data.io import DataError, read_events, write_events
from trigger.data.layout import CLASS_NAMES, PARTICLE_NAMES


def _adc2021_file(path, particles):
    """Exactly as the public ADC2021 files: float64 Particles, names and classes, no weights."""
    with h5py.File(path, "w") as f:
        f.create_dataset("Particles", data=particles.astype(np.float64))
        f.create_dataset("Particles_Names", data=np.array(PARTICLE_NAMES))
        f.create_dataset("Particles_Classes", data=np.array(CLASS_NAMES))


def test_reads_the_adc2021_layout(tmp_path):
    p = synthetic_events(50, seed=1)
    _adc2021_file(tmp_path / "background_for_training.h5", p)
    ef = read_events(tmp_path / "background_for_training.h5")
    assert ef.particles.shape == (50, 19, 4)
    assert np.array_equal(ef.particles, p)
    assert np.array_equal(ef.weights, np.ones(50))


def test_write_then_read_keeps_weights_and_attrs(tmp_path):
    p = synthetic_events(30, seed=2)
    w = np.linspace(0.5, 2, 30)
    write_events(tmp_path / "x.h5", p, w, process="W", seed=3)
    ef = read_events(tmp_path / "x.h5")
    assert np.allclose(ef.particles, p.astype(np.float32))
    assert np.array_equal(ef.weights, w)
    assert ef.attrs["process"] == "W" and ef.attrs["seed"] == 3
    with h5py.File(tmp_path / "x.h5") as f:
        assert list(f["Particles_Classes"][:]) == CLASS_NAMES


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_events(tmp_path / "nope.h5")


def test_truncated_file(tmp_path):
    p = synthetic_events(2000, seed=3)
    write_events(tmp_path / "x.h5", p)
    data = (tmp_path / "x.h5").read_bytes()
    (tmp_path / "t.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="t.h5"):
        read_events(tmp_path / "t.h5")


def test_wrong_shape(tmp_path):
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.create_dataset("Particles", data=np.zeros((5, 18, 4)))
    with pytest.raises(DataError, match=r"'Particles' has shape \(5, 18, 4\)"):
        read_events(tmp_path / "w.h5")


def test_nan_and_negative_pt(tmp_path):
    p = synthetic_events(10, seed=4)
    p[3, 2, 1] = np.nan
    _adc2021_file(tmp_path / "n.h5", p)
    with pytest.raises(DataError, match="NaN/inf.*event 3, object 2, Eta"):
        read_events(tmp_path / "n.h5")
    p = synthetic_events(10, seed=4)
    p[4, 0, 0] = -1
    _adc2021_file(tmp_path / "neg.h5", p)
    with pytest.raises(DataError, match="negative pT.*event 4"):
        read_events(tmp_path / "neg.h5")


def test_failed_write_leaves_previous_file(tmp_path):
    good = synthetic_events(10, seed=5)
    write_events(tmp_path / "x.h5", good)
    bad = good.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(DataError):
        write_events(tmp_path / "x.h5", bad)
    assert read_events(tmp_path / "x.h5").particles.shape == (10, 19, 4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
