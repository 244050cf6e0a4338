import numpy as np

from trigger.config import load_config
from trigger.data.layout import N_OBJECTS, SLOTS
from trigger.data.units import SaturationCount, field_ranges, from_words, to_words


def test_round_trip_is_exact_on_hardware_values():
    units = load_config().units
    rng = np.random.default_rng(0)
    rngs = field_ranges(units)
    words = rng.integers(rngs[:, 0], rngs[:, 1] + 1, size=(500, 57))
    words[:, 1] = 0  # MET has no eta
    back = to_words(from_words(words, units), units)
    present = np.repeat(words.reshape(-1, N_OBJECTS, 3)[:, :, 0] > 0, 3, axis=1)
    assert np.array_equal(back[present], words[present])


def test_saturation_is_counted_not_hidden():
    units = load_config().units
    p = np.zeros((2, N_OBJECTS, 4))
    p[0, SLOTS["egamma"].start, :3] = (1000.0, 0.5, 0.1)  # beyond the 9-bit e/gamma pT field
    sat = SaturationCount()
    w = to_words(p, units, sat)
    assert sat.counts == {"egamma.pt": 1}
    assert w[0, 3 * SLOTS["egamma"].start] == 2**units.egamma.pt_bits - 1


def test_phi_is_an_unsigned_bin_index():
    units = load_config().units
    p = np.zeros((1, N_OBJECTS, 4))
    p[0, 0, :3] = (10.0, 0.0, -np.pi / 2)
    w = to_words(p, units)
    assert w[0, 2] == 144 * 3 // 4
    assert np.isclose(from_words(w, units)[0, 0, 2], -np.pi / 2)
