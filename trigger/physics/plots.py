"""Plots (mplhep style): ROC, score distributions, efficiency versus rate, data distributions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402

from trigger.io_utils import atomic_path  # noqa: E402

plt.style.use(hep.style.CMS)


SIGNAL_COLORS = {"Ato4l": "tab:blue", "LQ": "tab:orange", "h0tautau": "tab:green", "hchtaunu": "tab:red"}


def signal_color(name: str) -> str:
    """One colour per signal in every plot (the shipped signals fixed; others from a stable hash)."""
    import zlib

    others = ["tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
    return SIGNAL_COLORS.get(name) or others[zlib.crc32(name.encode()) % len(others)]


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)


def physics_plots(out: Path, curves, bkg_score, bkg_w, sig_scores, thresholds, stream_khz, bkg_all, base_thr,
                  score_label: str = "sum(mu^2)"):
    out = Path(out)
    signals = sorted({s for s, _ in curves})
    for sig in signals:
        fig, ax = plt.subplots(figsize=(8, 7))
        for (s, name), (fpr, tpr) in curves.items():
            if s == sig:
                ax.plot(np.maximum(fpr, 1e-7), tpr, label=name)
        x = np.logspace(-6, 0, 50)
        ax.plot(x, x, "k:", label="random")
        for t in thresholds:
            ax.axvline(t["target_fraction"], color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("background efficiency")
        ax.set_ylabel("signal efficiency")
        ax.set_title(f"ROC: {sig}", fontsize=16)
        ax.legend(fontsize=11, loc="lower right")
        _save(fig, out / f"roc_{sig}.png")

    _score_distributions(out, bkg_score, bkg_w, sig_scores, thresholds, score_label)

    fig, ax = plt.subplots(figsize=(8, 7))
    rates = np.logspace(-1, np.log10(stream_khz * 0.5), 30)
    order = np.argsort(-bkg_score, kind="stable")
    cum = np.cumsum(bkg_w[order]) / bkg_w.sum()
    for name, s in sig_scores.items():
        eff = []
        for r in rates:
            k = np.searchsorted(cum, r / stream_khz, side="right")
            thr = bkg_score[order][max(k - 1, 0)] if k > 0 else np.inf
            eff.append((s >= thr).mean())
        ax.plot(rates, eff, label=name, color=signal_color(name))
    ax.plot(rates, rates / stream_khz, "k:", label="random")
    for t in thresholds:
        ax.axvline(t["rate_khz"], color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("trigger rate [kHz]")
    ax.set_ylabel("signal efficiency")
    ax.legend(fontsize=11)
    _save(fig, out / "efficiency_vs_rate.png")


def _score_distributions(out: Path, bkg_score, bkg_w, sig_scores, thresholds, score_label: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 7))
    # log-spaced bins: the scores span decades and the thresholds sit in the background's far tail
    pos = np.concatenate([bkg_score[bkg_score > 0], *(v[v > 0] for v in sig_scores.values())])
    lo = np.quantile(pos, 0.001) if len(pos) else 1e-3
    hi = max(pos.max(initial=lo * 10), max((t["threshold_float"] for t in thresholds), default=0)) * 1.5
    bins = np.geomspace(lo, hi, 70)
    clip = lambda v: np.clip(v, lo, None)  # noqa: E731 - zero scores land in the first bin
    ax.hist(clip(bkg_score), bins=bins, weights=bkg_w / bkg_w.sum(), histtype="stepfilled", alpha=0.35, color="grey", label="background")
    for name, s in sig_scores.items():
        ax.hist(clip(s), bins=bins, weights=np.full(len(s), 1 / len(s)), histtype="step", lw=1.5, label=name, color=signal_color(name))
    for k, t in enumerate(thresholds):  # labels staggered: the thresholds often sit close together
        ax.axvline(t["threshold_float"], color="k", ls="--", lw=0.8)
        ax.text(t["threshold_float"], 0.97 - 0.07 * k, f" {t['rate_khz']:g} kHz", transform=ax.get_xaxis_transform(),
                va="top", fontsize=11)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"anomaly score {score_label} (zeros in the first bin)")
    ax.set_ylabel("fraction of events")
    ax.legend(fontsize=11)
    _save(fig, out / "score_distributions.png")


def data_plots(out: Path, samples: dict[str, np.ndarray], weights: dict[str, np.ndarray] | None = None):
    """Per-process distributions from (N, 19, 4) physics arrays: multiplicities, leading pT, MET, eta."""
    from trigger.data.layout import SLOTS

    out = Path(out)
    written = []
    for name, p in samples.items():
        w = None if weights is None else weights.get(name)
        fig, axes = plt.subplots(2, 3, figsize=(18, 11))
        axes = axes.ravel()
        for i, obj in enumerate(("egamma", "muon", "jet")):
            sl = SLOTS[obj]
            mult = (p[:, sl, 0] > 0).sum(1)
            axes[i].hist(mult, bins=np.arange(sl.stop - sl.start + 2) - 0.5, weights=w, histtype="step")
            axes[i].set_xlabel(f"{obj} multiplicity")
            lead = p[:, sl.start, 0]
            axes[3].hist(lead[lead > 0], bins=np.linspace(0, 300, 61), weights=None if w is None else w[lead > 0], histtype="step", label=obj)
            eta = p[:, sl, 1][p[:, sl, 0] > 0]
            axes[5].hist(eta, bins=np.linspace(-4.5, 4.5, 61), histtype="step", label=obj)
        axes[3].set_xlabel("leading pT [GeV]")
        axes[3].set_yscale("log")
        axes[3].legend(fontsize=11)
        axes[4].hist(p[:, 0, 0], bins=np.linspace(0, 300, 61), weights=w, histtype="step")
        axes[4].set_xlabel("MET [GeV]")
        axes[4].set_yscale("log")
        axes[5].set_xlabel("object eta")
        axes[5].legend(fontsize=11)
        fig.suptitle(name, fontsize=18)
        path = out / f"data_{name}.png"
        _save(fig, path)
        written.append(str(path))
    return written


def region_plots(out: Path, images: dict[str, np.ndarray], weights: dict[str, np.ndarray] | None = None) -> str:
    """The mean calorimeter region image (ET in GeV per region; weighted by the events' weights where given, as
    QCD's biased pT-hat sampling needs) of each process, one panel each with its own colour scale (processes differ
    by orders of magnitude); eta along x, phi along y."""
    from trigger.data.regions import ET_LSB, ETA_EDGES

    edges = np.concatenate([-ETA_EDGES[:0:-1], ETA_EDGES])
    n = len(images)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 6 * rows), squeeze=False, layout="constrained")
    for ax, (name, r) in zip(axes.ravel(), images.items()):
        w = None if weights is None else weights.get(name)
        mean = np.average(r, axis=0, weights=w) * ET_LSB
        m = ax.pcolormesh(edges, np.linspace(0, 360, r.shape[-2] + 1), mean, cmap="viridis")
        cb = fig.colorbar(m, ax=ax)
        cb.set_label("mean ET per region [GeV]", fontsize=13)
        cb.ax.tick_params(labelsize=12)
        ax.set_title(f"{name} ({len(r)} events)", fontsize=15)
        ax.set_xlabel("eta", fontsize=15)
        ax.set_ylabel("phi [deg]", fontsize=15)
        ax.tick_params(labelsize=12)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    path = Path(out) / "regions_mean.png"
    _save(fig, path)
    return str(path)


def file_plots(paths, out: Path) -> list[str]:
    """data_plots of every file, and region_plots of those with region images."""
    from trigger.data.io import read_events, read_regions
    from trigger.data.words import has_regions

    samples, images, weights = {}, {}, {}
    for p in paths:
        ef = read_events(p)
        samples[Path(p).stem] = ef.particles
        if has_regions(p):
            images[Path(p).stem] = read_regions(p)
            weights[Path(p).stem] = ef.weights
    written = data_plots(out, samples)
    return written + ([region_plots(out, images, weights)] if images else [])
