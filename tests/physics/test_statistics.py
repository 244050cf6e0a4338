"""The statistics that turn scores into thresholds and efficiencies, against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from trigger.physics.scoring import efficiency, rate_uncertainty, roc, threshold_for_fraction, weighted_pass_fraction


def test_weighted_auc_matches_scikit_learn():
    rng = np.random.default_rng(0)
    bkg, sig = rng.integers(0, 40, 3000), rng.integers(5, 50, 1000)  # integer scores: many ties
    w = rng.uniform(0.1, 3.0, 3000)
    _, _, auc = roc(bkg, w, sig)
    y = np.r_[np.zeros(3000), np.ones(1000)]
    sw = np.r_[w / w.sum(), np.full(1000, 1 / 1000)]
    assert auc == pytest.approx(roc_auc_score(y, np.r_[bkg, sig], sample_weight=sw), abs=1e-12)
    assert roc(bkg, np.ones(3000), bkg)[2] == pytest.approx(0.5)  # identical samples: exactly random


def test_threshold_with_ties_never_exceeds_the_target():
    scores = np.array([1, 2, 2, 2, 3, 3, 4, 5, 5, 5])
    w = np.ones(10)
    # 3 of 10 pass at >= 5; the tie at 4..5: a fraction of 0.35 cannot take the 4 (0.4): threshold stays 5
    assert threshold_for_fraction(scores, w, 0.35) == 5
    assert weighted_pass_fraction(scores, w, 5) == pytest.approx(0.3)
    assert threshold_for_fraction(scores, w, 0.4) == 4
    # the lowest threshold that meets the target: one step lower would exceed it
    for f in (0.05, 0.3, 0.45, 0.6, 0.95):
        t = threshold_for_fraction(scores, w, f)
        assert weighted_pass_fraction(scores, w, t) <= f + 1e-12
        lower = scores[scores < t]
        if len(lower):
            assert weighted_pass_fraction(scores, w, lower.max()) > f


def test_unreachable_target_gives_a_threshold_above_every_score():
    scores = np.array([7, 7, 7, 3])
    w = np.array([1.0, 1.0, 1.0, 1.0])
    t = threshold_for_fraction(scores, w, 0.1)  # even the top tie group passes 75 %
    assert t == 8 and weighted_pass_fraction(scores, w, t) == 0.0


def test_binomial_and_weighted_uncertainties():
    scores = np.arange(100)
    p, err = efficiency(scores, 80)
    assert p == pytest.approx(0.2) and err == pytest.approx(np.sqrt(0.2 * 0.8 / 100))
    w = np.r_[np.full(50, 1.0), np.full(50, 3.0)]
    assert rate_uncertainty(scores, w, 80) == pytest.approx(np.sqrt(20 * 9.0) / 200)
    p, err = efficiency(scores, 80, w)
    n_eff = 200**2 / (50 + 50 * 9)
    assert p == pytest.approx(60 / 200) and err == pytest.approx(np.sqrt(0.3 * 0.7 / n_eff))


def test_split_rule_and_mix_weights(tiny):
    from trigger.data.dataset import load_background, split_mask

    cfg, _, _ = tiny
    s = cfg.data.split
    n = 10 * (s.train + s.val + s.test)
    masks = {k: split_mask(n, cfg.data, k) for k in ("train", "val", "test")}
    assert sum(m.astype(int) for m in masks.values()).tolist() == [1] * n  # every event in exactly one split
    period = s.train + s.val + s.test
    assert np.flatnonzero(masks["val"])[: s.val].tolist() == list(range(s.train, s.train + s.val))
    assert masks["test"].sum() == n * s.test // period
    # mix weights: the file's weights are rescaled so that the whole file carries its process's fraction of the
    # mix; a split of n_split of its n events carries the same fraction, in expectation, once scaled by n_split / n
    from trigger.data.dataset import load_sample

    for name, spec in cfg.data.background.items():
        parts = {k: load_sample(cfg, name, k) for k in ("train", "val", "test")}
        n = sum(len(p.words) for p in parts.values())
        assert sum(p.weights.sum() * len(p.words) / n for p in parts.values()) == pytest.approx(spec.fraction, rel=1e-9)
    assert load_background(cfg, "test").weights.sum() == pytest.approx(sum(p.fraction for p in cfg.data.background.values()), rel=0.02)


def test_thresholds_are_checked_on_an_independent_split(tiny):
    import json

    _, build, _ = tiny
    for t in json.loads((build / "reports" / "physics.json").read_text())["thresholds"]:
        assert t["independent_split"].startswith("val") and t["independent_rate_uncertainty_khz"] >= 0
        assert "independent_rate_khz" in t


def test_thin_curve_keeps_its_own_points_and_both_ends():
    from trigger.physics.scoring import roc, thin_curve

    rng = np.random.default_rng(3)
    bkg, sig = rng.normal(0, 1, 200_000), rng.normal(1, 1, 50_000)
    fpr, tpr, _ = roc(bkg, np.ones(len(bkg)), sig)
    f, t = thin_curve(fpr, tpr, points=1000)
    assert len(f) <= 1002 and len(f) < len(fpr)
    assert (f[0], t[0]) == (fpr[0], tpr[0]) and (f[-1], t[-1]) == (fpr[-1], tpr[-1])
    pos = np.searchsorted(fpr, f)
    assert np.array_equal(fpr[pos], f) and np.all(np.isin(t, tpr))  # a subset of the curve's own points
    assert (f > 0).sum() and f[f > 0].min() <= 1e-4  # the low-rate end, where triggers live, is kept
    small = (fpr[:10], tpr[:10])
    assert thin_curve(*small) is not None and np.array_equal(thin_curve(*small)[0], small[0])
