"""Scores from the trained models, and the statistics that turn scores into trigger thresholds."""

from __future__ import annotations

import numpy as np

from trigger.design.fixed import FixedType


def mu_to_int(mu: np.ndarray, mu_type: FixedType) -> np.ndarray:
    """QKeras mu (exact multiples of the LSB) -> integer mu words; raises if a value is not on the grid."""
    scaled = np.asarray(mu, dtype=np.float64) * 2.0**mu_type.frac
    ints = np.rint(scaled).astype(np.int64)
    if not np.array_equal(ints, scaled):
        raise ValueError("mu values are not on the mu type's grid: the model's output quantizer is missing")
    return ints


def software_scores(model, scaled: np.ndarray, mu_type: FixedType, score_type: FixedType | None = None, batch: int = 65536):
    """Run the QKeras model; returns (mu_int (N, L), score_int (N,)) in int64. Without score_type the score is
    sum(mu^2) of the integer mu (the vae_kl encoder: its float32 score output could round); with it, the model's
    own score output (a float64 head, exact), checked to lie on score_type's grid."""
    outs = [model.predict(scaled[i : i + batch], verbose=0, batch_size=8192) for i in range(0, len(scaled), batch)]
    mu_int = mu_to_int(np.concatenate([o[0] for o in outs]), mu_type)
    if score_type is None:
        return mu_int, (mu_int * mu_int).sum(axis=1)
    s = np.concatenate([o[1][:, 0] for o in outs]).astype(np.float64) * 2.0**score_type.frac
    score = np.rint(s).astype(np.int64)
    if not np.array_equal(score, s):
        raise ValueError(f"the model's score output is off the {score_type.hls()} grid: not the firmware's score")
    return mu_int, score


def weighted_pass_fraction(scores: np.ndarray, weights: np.ndarray, threshold) -> float:
    return float(weights[scores >= threshold].sum() / weights.sum())


def threshold_for_fraction(scores: np.ndarray, weights: np.ndarray, fraction: float):
    """Smallest threshold t (a score value, or max+1) with weighted fraction(score >= t) <= fraction."""
    order = np.argsort(-scores, kind="stable")
    s, w = scores[order], weights[order] / weights.sum()
    uniq_last = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last index of each distinct value
    cum = np.cumsum(w)[uniq_last]
    ok = np.flatnonzero(cum <= fraction + 1e-12)
    if len(ok) == 0:
        top = s[0]
        return top + 1 if np.issubdtype(s.dtype, np.integer) else np.nextafter(top, np.inf)
    return s[uniq_last[ok[-1]]]


def efficiency(scores: np.ndarray, threshold, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Passing fraction and its binomial uncertainty (effective counts for weighted samples)."""
    w = np.ones(len(scores)) if weights is None else weights
    p = w[scores >= threshold].sum() / w.sum()
    n_eff = w.sum() ** 2 / (w * w).sum()
    return float(p), float(np.sqrt(max(p * (1 - p), 0.0) / n_eff))


def rate_uncertainty(scores, weights, threshold) -> float:
    """Statistical uncertainty of a weighted passing fraction: sqrt(sum w_pass^2) / sum w."""
    sel = scores >= threshold
    return float(np.sqrt((weights[sel] ** 2).sum()) / weights.sum())


def thin_curve(fpr: np.ndarray, tpr: np.ndarray, points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """At most ~points of the ROC's own points, spread evenly in log and in linear background efficiency: a plot
    needs no more, and 20 full curves on 6M background events would hold 2 GB (the AUC uses the full curve)."""
    if len(fpr) <= points:
        return fpr, tpr
    grid = np.r_[np.logspace(-9, 0, points // 2), np.linspace(0, 1, points // 2)]
    idx = np.unique(np.r_[0, np.clip(np.searchsorted(fpr, grid), 0, len(fpr) - 1), len(fpr) - 1])
    return fpr[idx], tpr[idx]


def roc(bkg: np.ndarray, bkg_w: np.ndarray, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted ROC (background efficiency, signal efficiency) and its AUC (scikit-learn's); ties count half."""
    from sklearn.metrics import auc, roc_curve

    values = np.concatenate([bkg, sig]).astype(np.float64)
    is_sig = np.r_[np.zeros(len(bkg), bool), np.ones(len(sig), bool)]
    w = np.r_[np.asarray(bkg_w, dtype=np.float64), np.ones(len(sig))]
    fpr, tpr, _ = roc_curve(is_sig, values, sample_weight=w, drop_intermediate=False)
    return fpr, tpr, float(auc(fpr, tpr))
