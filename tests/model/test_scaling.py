"""The firmware input scaling fitted from training data: offsets, shifts and the covered quantile."""

import json

import numpy as np
import pytest

from trigger.design.fixed import FixedType
from trigger.model.scaling import count_input_saturation, fit_scaling

INPUT = FixedType(10, 4, signed=True, rounding="RND_CONV", overflow="SAT")  # range [-8, 8)


def _words():
    rng = np.random.default_rng(3)
    pt = rng.exponential(60.0, 100_000).round()
    pt[rng.random(len(pt)) < 0.3] = 0  # empty slots
    eta = rng.integers(-100, 100, len(pt))
    return np.stack([pt, eta], axis=1).astype(np.int64)


def test_mean_offset_and_covering_shift():
    w = _words()
    s = fit_scaling(w, np.ones(len(w)), INPUT)
    assert s.offset[0] == int(np.rint(w[:, 0].mean()))
    dev = np.abs(w - s.offset)
    cover = np.quantile(dev, 0.999, axis=0)
    # the smallest power-of-two shift that brings the covered deviation inside the input range
    assert (cover / 2.0**s.shift <= INPUT.max_value).all()
    assert (cover / 2.0 ** (s.shift - 1) > INPUT.max_value).all()


def test_zero_offset_keeps_empty_slots_at_zero():
    w = _words()
    s = fit_scaling(w, np.ones(len(w)), INPUT, offset="zero")
    assert (s.offset == 0).all()
    assert (s.apply(w)[w[:, 0] == 0, 0] == 0).all()


def test_lower_cover_quantile_saturates_more():
    w = _words()
    full = fit_scaling(w, np.ones(len(w)), INPUT, cover_quantile=0.999)
    low = fit_scaling(w, np.ones(len(w)), INPUT, cover_quantile=0.9)
    assert (low.shift <= full.shift).all() and (low.shift < full.shift).any()
    assert count_input_saturation(w, low, INPUT)["values"] > count_input_saturation(w, full, INPUT)["values"]


def test_unknown_offset_is_named():
    with pytest.raises(ValueError, match="'median'"):
        fit_scaling(_words(), np.ones(100_000), INPUT, offset="median")


def test_reconstruction_mask_follows_config():
    from trigger.model.scaling import Scaling
    from trigger.model.train import _inputs

    words = np.zeros((2, 57), dtype=np.int64)
    words[:, 0] = 40  # MET
    words[0, 3:6] = (60, 5, 7)  # one e/gamma in event 0 only
    s = Scaling(np.zeros(57, np.int64), np.zeros(57, np.int64))
    _, masked = _inputs(words, s, mask_padding=True)
    _, full = _inputs(words, s, mask_padding=False)
    assert masked[0, :6].tolist() == [1] * 6 and masked[1, 3:6].tolist() == [0] * 3 and masked[:, 6:].sum() == 0
    assert (full == 1).all()


def test_reconstruction_weights_equalise_present_variances():
    from trigger.model.vae import reco_weights

    rng = np.random.default_rng(5)
    n = 20_000
    x = np.stack([rng.normal(0, 2.0, n), rng.normal(1, 0.5, n), rng.normal(0, 1.0, n), np.zeros(n)], axis=1)
    mask = np.ones_like(x)
    mask[: n // 2, 1] = 0  # input 1 absent in half the events: its padding must not count
    x[: n // 2, 1] = -40.0  # what an absent slot's (0 - offset) >> shift would read
    mask[:, 3] = 0
    mask[:3, 3] = 1  # input 3 present in 3 events only: too few to fit, gets the median weight
    w = np.ones(n)
    rw = reco_weights(x, mask, w, "variance")
    assert rw.shape == (4,)
    assert rw[1] / rw[0] == pytest.approx(16, rel=0.05)  # variance 0.25 against 4
    assert rw[2] / rw[0] == pytest.approx(4, rel=0.05)
    assert rw[3] == np.median(rw[:3])
    assert rw[:3].mean() == pytest.approx(1.0)
    assert (reco_weights(x, mask, w, "none") == 1).all()
    with pytest.raises(ValueError, match="'std'"):
        reco_weights(x, mask, w, "std")


def test_field_weights_multiply_each_kind_of_every_object():
    from trigger.config import FieldWeights
    from trigger.data.layout import FEATURE_NAMES
    from trigger.model.vae import reco_weights

    field = FieldWeights(pt=300, eta=2, phi=0.5).per_input()
    assert field.shape == (len(FEATURE_NAMES),)
    for name, f in zip(FEATURE_NAMES, field):
        assert f == {"pt": 300, "eta": 2, "phi": 0.5}[name.rsplit("_", 1)[1]], name
    rng = np.random.default_rng(2)
    x = rng.normal(0, rng.uniform(0.5, 3, len(field)), (5000, len(field)))
    mask, w = np.ones_like(x), np.ones(len(x))
    assert np.array_equal(reco_weights(x, mask, w, "none", field), field)
    var = reco_weights(x, mask, w, "variance")
    assert np.allclose(reco_weights(x, mask, w, "variance", field), var * field, rtol=1e-6)
    assert np.array_equal(reco_weights(x, mask, w, "none"), np.ones(len(field), dtype=np.float32))


def test_pt_target_ceiling_is_the_weighted_quantile_of_present_objects():
    from trigger.model.vae import RecoTerm, pt_target_ceiling

    rng = np.random.default_rng(4)
    n = 4000
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    x[:, 0] = np.arange(n) % 100  # pT of object 0: 0..99, each value 40 times
    mask = np.ones_like(x)
    mask[: n // 2, 0] = 0  # absent in the first half: their values must not count
    x[: n // 2, 0] = 1000.0
    mask[:, 3] = 0
    mask[:10, 3] = 1  # object 1 present in 10 events only: not capped
    w = np.ones(n)
    w[(x[:, 0] >= 50) & (mask[:, 0] > 0)] = 3.0  # weights move the quantile: 3/4 of the weight is >= 50
    cap = pt_target_ceiling(x, mask, w, 0.5)
    assert cap[0] == 66  # weighted median of 0..99 with the upper half weighted 3x (unweighted: 49)
    assert np.isinf(cap[[1, 2, 3, 4, 5]]).all()  # eta/phi never capped; too few events for object 1
    assert np.isinf(pt_target_ceiling(x, mask, w, None)).all()

    term = RecoTerm(np.ones(6, dtype=np.float32), cap, {"pt_quantile": 0.5})
    ev = np.array([[90.0, 0.1, 0, 0, 0, 0]], dtype=np.float32)  # pT above the cap
    at_cap = ev.copy()
    at_cap[0, 0] = 66
    assert term.error(ev, at_cap, np.ones_like(ev))[0] == 0  # the decoder is asked for the capped value
    assert term.error(ev, ev, np.ones_like(ev))[0] == pytest.approx(24**2 / 6)
    back = RecoTerm.from_dict(json.loads(json.dumps(term.to_dict())))
    assert np.array_equal(back.ceiling, cap) and np.array_equal(back.weights, term.weights)
    assert back.info == {"pt_quantile": 0.5}
