"""Physics performance on held-out background and every signal: ROC, AUC, thresholds, efficiencies."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.data.io import DataError
from trigger.data.units import SaturationCount
from trigger.io_utils import as_json, read_json, write_json
from trigger.model.families import PRIMARY, SCORE_LABEL, keras_score_type, mask_padding
from trigger.model.families import score_type as trigger_score_type
from trigger.physics.families import families_section
from trigger.physics.scoring import (efficiency, rate_uncertainty, roc, software_scores, thin_curve, threshold_for_fraction,
                             weighted_pass_fraction)

BASELINE_LABELS = {
    "encoder_mu2": "VAE encoder sum(mu^2) (trigger)",
    "ae_reco_firmware": "AE weighted reconstruction error, as the firmware computes it (trigger)",
    "full_kl": "VAE full KL (with sigma)",
    "vae_reco": "VAE reconstruction error",
    "ae_reco": "plain AE reconstruction error",
    "axol1tl_v1": "AXOL1TL v1 architecture, sum(mu^2)",
    "or_firmware": "OR of two families' scores, as the firmware computes it (trigger)",
    "or_vae_kl": "OR part vae_kl alone: its sum(mu^2)",
    "or_ae_reco": "OR part ae_reco alone: its weighted reconstruction error",
    "or_embed_ae": "OR part embed_ae alone: its embedding's reconstruction error",
}


def _reco_error(encoder, decoder, x, m, term):
    """The training reconstruction term (a RecoTerm) of each event, over its present fields (mask m)."""
    mu = encoder.predict(x, verbose=0, batch_size=8192)[0]
    return term.error(x, decoder.predict(mu, verbose=0, batch_size=8192), m)


class Scorer:
    """The trained models, loaded once, and every score they give a set of events."""

    MODELS = ("trigger_model", "vae_encoder", "vae_decoder", "ae_encoder", "ae_decoder", "axol1tl_v1_encoder")

    def __init__(self, build: Path, cfg: Config, trigger_only: bool = False):
        from trigger.model.train import load_model, load_reco_term, load_scaling

        self.cfg, self.build = cfg, build
        self.scaling = load_scaling(build)
        self.reco_term = load_reco_term(build)
        names = self.MODELS[:1] if trigger_only else self.MODELS
        self.models = {n: load_model(build, n) for n in names if (build / "model" / f"{n}.h5").exists()}
        self.axo_scaling = load_scaling(build, "axol1tl_v1_scaling") if "axol1tl_v1_encoder" in self.models else None
        self.parts = {}
        if cfg.model.family == "or" and not trigger_only:  # each part's own score, beside the OR's
            from trigger.model.or_family import part_models

            self.parts = part_models(build)

    def __call__(self, words: np.ndarray) -> dict[str, np.ndarray]:
        """The trigger's exact integer score and the baselines' floats."""
        from trigger.model.vae import reco_mask

        m = self.models
        x = self.scaling.apply(words).astype(np.float32)
        mask = reco_mask(words, mask_padding(self.cfg))
        _, score_int = software_scores(m["trigger_model"], x, self.cfg.model.mu.type, keras_score_type(self.cfg, self.build))
        out = {PRIMARY[self.cfg.model.family]: score_int}
        if self.parts:
            from trigger.model.or_family import part_scores

            out |= {f"or_{f}": part_scores(self.cfg, pm, f, x) for f, pm in self.parts.items()}
        if "vae_encoder" in m:
            mu, logvar = m["vae_encoder"].predict(x, verbose=0, batch_size=8192)
            logvar = np.clip(logvar, -10, 10)
            out["full_kl"] = 0.5 * (mu**2 + np.exp(logvar) - logvar - 1).sum(1)
            out["vae_reco"] = _reco_error(m["vae_encoder"], m["vae_decoder"], x, mask, self.reco_term)
        if "ae_encoder" in m:
            out["ae_reco"] = _reco_error(m["ae_encoder"], m["ae_decoder"], x, mask, self.reco_term)
        if self.axo_scaling is not None:
            bx = self.axo_scaling.apply(words).astype(np.float32)
            bmu = m["axol1tl_v1_encoder"].predict(bx, verbose=0, batch_size=8192)[0]
            out["axol1tl_v1"] = (bmu.astype(np.float64) ** 2).sum(1)
        return out


def score_performance(bkg: np.ndarray, bkg_w: np.ndarray, sig: np.ndarray, rates, thresholds) -> tuple[dict, tuple]:
    """AUC and the efficiency (with its binomial uncertainty) at each rate's threshold; and the ROC curve."""
    fpr, tpr, auc = roc(bkg, bkg_w, sig)
    effs = {}
    for r, thr in zip(rates, thresholds):
        e, de = efficiency(sig, thr)
        effs[f"{r:g}"] = {"efficiency": e, "uncertainty": de}
    return {"auc": auc, "efficiency": effs}, thin_curve(fpr, tpr)


_SCORERS: dict = {}


def _scorer(build: Path, cfg: Config, trigger_only: bool) -> "Scorer":
    """One Scorer per build and process (a Dask worker keeps its models between chunks)."""
    key = (str(Path(build).resolve()), cfg.section_hash("model", "training", "units"), trigger_only,
           tuple(p.stat().st_mtime_ns for p in sorted((Path(build) / "model").glob("*.h5"))))
    if key not in _SCORERS:
        _SCORERS.clear()
        _SCORERS[key] = Scorer(Path(build), cfg, trigger_only)
    return _SCORERS[key]


def score_range(build: Path, cfg: Config, path: Path, start: int, stop: int, splits: tuple[str, ...],
                trigger_only: bool = False) -> dict:
    """Events start..stop of one file, scored by every model, for each wanted split: the unit of work in one
    process and on a Dask cluster alike (fixed boundaries, so the result does not depend on where it ran)."""
    from trigger.data.dataset import split_of
    from trigger.data.stream import read_word_range

    words, weights, sat = read_word_range(path, cfg.units, start, stop)
    idx = np.arange(start, stop)
    out = {"total_weight": float(weights.sum()), "saturation": sat.counts, "splits": {}}
    for split in splits:
        keep = split_of(idx, cfg.data, split)
        out["splits"][split] = {"weights": weights[keep], "scores": _scorer(build, cfg, trigger_only)(words[keep]) if keep.any() else {}}
    return out


class ScoredSplits:
    """Every model's scores of one process's file per split, with weights normalised as load_sample does."""

    def __init__(self, name: str, n: int, parts: list[dict], splits: tuple[str, ...], lepton_filter):
        from trigger.data.units import SaturationCount

        self.name, self.events_in_file, self.lepton_filter = name, n, lepton_filter
        self.total_weight = sum(p["total_weight"] for p in parts)
        self.saturation = SaturationCount()
        for p in parts:
            for k, v in p["saturation"].items():
                self.saturation.add(k, v)
        self.weights, self.scores = {}, {}
        for split in splits:
            chunks = [p["splits"][split] for p in parts if len(p["splits"][split]["weights"])]
            if not chunks:
                raise DataError(f"{name}: no events in split {split!r} ({n} events)")
            self.weights[split] = np.concatenate([c["weights"] for c in chunks])
            self.scores[split] = {k: np.concatenate([c["scores"][k] for c in chunks]) for k in chunks[0]["scores"]}


def score_file(cfg: Config, build: Path, name: str, splits: tuple[str, ...], root: Path | None = None, client=None,
               trigger_only: bool = False) -> ScoredSplits:
    """Score a process's file chunk by chunk, here or on a Dask cluster (`client`), with a progress bar; with
    `trigger_only`, the trigger's own score alone."""
    from trigger.data.dataset import process_file
    from trigger.data.stream import file_info, ranges
    from trigger.progress import bar

    path = process_file(cfg.data, name, root)
    info = file_info(path)
    chunks = ranges(info.events)
    parts = []
    with bar(f"scoring {name} ({', '.join(splits)})", info.events) as advance:
        if client is not None:
            futures = client.map(score_range, [build] * len(chunks), [cfg] * len(chunks), [path] * len(chunks),
                                 [lo for lo, _ in chunks], [hi for _, hi in chunks], [splits] * len(chunks),
                                 [trigger_only] * len(chunks), pure=False)
            for (lo, hi), fut in zip(chunks, futures):
                parts.append(fut.result())
                advance(hi - lo)
        else:
            for lo, hi in chunks:
                parts.append(score_range(build, cfg, path, lo, hi, splits, trigger_only))
                advance(hi - lo)
    lf = info.attrs.get("lepton_filter")
    out = ScoredSplits(name, info.events, parts, splits, None if lf is None else bool(lf))
    if name in cfg.data.background:
        if out.total_weight <= 0:
            raise DataError(f"{path}: field 'weights' sums to zero")
        for split, w in out.weights.items():
            out.weights[split] = w / out.total_weight * cfg.data.background[name].fraction * info.events / len(w)
    return out


def _background(parts: list[ScoredSplits], split: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    return ({k: np.concatenate([p.scores[split][k] for p in parts]) for k in parts[0].scores[split]},
            np.concatenate([p.weights[split] for p in parts]))


def choose_thresholds(cfg: Config, build: Path, bkg: np.ndarray, bkg_w: np.ndarray, val: np.ndarray, val_w: np.ndarray) -> list[dict]:
    """Each target rate's threshold on the trigger's integer score (test background), raised onto the threshold
    grid, with its rate checked on the independent validation split."""
    score_type = trigger_score_type(cfg, build)
    stream_khz = cfg.evaluation.stream_rate_khz
    thresholds = []
    for r in cfg.firmware.rates_khz:
        frac = r / stream_khz
        if frac >= 1:
            raise DataError(f"target rate {r} kHz is not below the stream rate {stream_khz} kHz")
        step = cfg.evaluation.threshold_step(score_type.lsb)  # raised onto the grid: the rate only falls
        t_int = -(-int(threshold_for_fraction(bkg, bkg_w, frac)) // step) * step
        achieved = weighted_pass_fraction(bkg, bkg_w, t_int)
        thresholds.append(
            {
                "rate_khz": r,
                "target_fraction": frac,
                "threshold_int": t_int,
                "threshold_float": t_int * score_type.lsb,
                "achieved_fraction": achieved,
                "achieved_rate_khz": achieved * stream_khz,
                "rate_uncertainty_khz": rate_uncertainty(bkg, bkg_w, t_int) * stream_khz,
            }
        )
    # the thresholds are chosen on the test split; their rates are checked on the independent validation split
    for t in thresholds:
        t["independent_split"] = f"val ({len(val_w)} background events)"
        t["independent_rate_khz"] = weighted_pass_fraction(val, val_w, t["threshold_int"]) * stream_khz
        t["independent_rate_uncertainty_khz"] = rate_uncertainty(val, val_w, t["threshold_int"]) * stream_khz
    return thresholds


def _client(scheduler):
    if scheduler is None:
        return None
    from dask.distributed import Client

    return Client(scheduler) if isinstance(scheduler, str) else scheduler


def write_thresholds(cfg: Config, build: str | Path = "build", root: Path | None = None, scheduler=None) -> list[dict]:
    """What the firmware needs of the evaluation, and no more: the trigger's score on the background, its
    thresholds (evaluation/thresholds.json) and the design (design.yaml). The flow's `thresholds` stage: the
    firmware starts from it while the baselines train and the full evaluation waits for them."""
    build = Path(build)
    primary = PRIMARY[cfg.model.family]
    client = _client(scheduler)
    parts = [score_file(cfg, build, name, ("test", "val"), root, client, trigger_only=True) for name in cfg.data.background]
    (bkg, bkg_w), (val, val_w) = _background(parts, "test"), _background(parts, "val")
    thresholds = choose_thresholds(cfg, build, bkg[primary], bkg_w, val[primary], val_w)
    _write_thresholds_and_design(cfg, build, thresholds)
    return thresholds


def _write_thresholds_and_design(cfg: Config, build: Path, thresholds: list[dict]) -> None:
    write_json(build / "evaluation" / "thresholds.json", {"score_type": trigger_score_type(cfg, build).to_dict(), "thresholds": thresholds})
    write_design(cfg, build, thresholds)


# long: the evaluation as one readable sequence (score, thresholds, per-signal efficiencies, report); the steps are helpers already
def evaluate(cfg: Config, build: str | Path = "build", root: Path | None = None, plots: bool = True, scheduler=None,
             design: bool = True) -> dict:
    """Scores every test event (and the validation background) chunk by chunk; with `scheduler` (a Dask address
    or Client) the chunks run on that cluster. Thresholds from the test background, checked on validation. With
    `design` it also writes the thresholds and the design; without (the flow, whose `thresholds` stage wrote them
    from the same scores), it checks that they are the ones written."""
    build = Path(build)
    t0 = time.perf_counter()
    score_type = trigger_score_type(cfg, build)
    primary = PRIMARY[cfg.model.family]
    stream_khz = cfg.evaluation.stream_rate_khz
    client = _client(scheduler)
    bkg_parts = [score_file(cfg, build, name, ("test", "val"), root, client) for name in cfg.data.background]
    bkg_scores, bkg_weights = _background(bkg_parts, "test")
    val_scores, val_weights = _background(bkg_parts, "val")
    val_scores = val_scores[primary]
    n_bkg, n_val = len(bkg_weights), len(val_weights)
    rates = cfg.firmware.rates_khz
    thresholds = choose_thresholds(cfg, build, bkg_scores[primary], bkg_weights, val_scores, val_weights)
    base_thr = {name: [threshold_for_fraction(s, bkg_weights, r / stream_khz) for r in rates] for name, s in bkg_scores.items()}
    signals, curves, sig_scores, sig_all = {}, {}, {}, {}
    for name in cfg.data.signals:
        sig = score_file(cfg, build, name, ("test",), root, client)
        scores = sig.scores["test"]
        sig_scores[name] = scores[primary]
        sig_all[name] = scores
        entry = {"events": len(scores[primary]), "lepton_filter": sig.lepton_filter, "scores": {}}
        for score_name, s in scores.items():
            perf, curves[(name, score_name)] = score_performance(bkg_scores[score_name], bkg_weights, s, rates, base_thr[score_name])
            entry["scores"][score_name] = perf
        entry["scores"]["random"] = {
            "auc": 0.5,
            "efficiency": {f"{r:g}": {"efficiency": r / stream_khz, "uncertainty": 0.0} for r in rates},
        }
        entry["best_score"] = max(
            (k for k in entry["scores"] if k != "random"), key=lambda k: entry["scores"][k]["auc"]
        )
        signals[name] = entry

    or_parts = _or_parts(cfg, build, bkg_scores, bkg_weights, sig_all, thresholds) if cfg.model.family == "or" else None
    sat = SaturationCount()
    for p in bkg_parts:
        for k, v in p.saturation.counts.items():
            sat.add(k, v)
    result = {
        "stream": cfg.evaluation.stream,
        "stream_rate_khz": stream_khz,
        "stream_rate_note": cfg.evaluation.stream_note,
        "background_test_events": n_bkg,
        "background_val_events": n_val,
        "background_effective_events": float(bkg_weights.sum() ** 2 / (bkg_weights**2).sum()),
        "word_saturation_background": sat.counts,
        "dask_scheduler": None if client is None else str(client.scheduler.address),
        "score_type": score_type.to_dict(),
        "thresholds": thresholds,
        "primary": primary,
        "baselines": {k: v for k, v in BASELINE_LABELS.items() if k in bkg_scores} | {"random": "random trigger at the same rate"},
        "signals": signals,
        "families": families_section(cfg),
        **({"or_parts": or_parts} if or_parts else {}),
        "seconds": time.perf_counter() - t0,
    }
    reports = build / "reports"
    if design:
        _write_thresholds_and_design(cfg, build, thresholds)
    else:
        _check_thresholds(build, thresholds)
    write_json(reports / "physics.json", result)
    if plots:
        from trigger.physics.plots import physics_plots

        physics_plots(reports / "plots", curves, bkg_scores[primary] * score_type.lsb, bkg_weights,
                      {k: v * score_type.lsb for k, v in sig_scores.items()}, thresholds, stream_khz, bkg_scores, base_thr,
                      SCORE_LABEL[cfg.model.family])
    return result


def _or_parts(cfg: Config, build: Path, bkg: dict, bkg_w: np.ndarray, sig: dict, thresholds: list[dict]) -> dict:
    """The or family: at each of the trigger's thresholds, the share of the background rate and of each signal that
    each part fires (its value entering the maximum passes the threshold), and both."""
    from trigger.model.or_family import on_combined_lsb

    out = {}
    for name, scores, w in [("background (rate, kHz)", bkg, bkg_w)] + [(n, s, None) for n, s in sig.items()]:
        v = on_combined_lsb(build, scores)
        a, b = v.values()
        unit = cfg.evaluation.stream_rate_khz if w is not None else 100.0
        w = np.ones(len(a)) if w is None else w
        per = {}
        for t in thresholds:
            fa, fb = a >= t["threshold_int"], b >= t["threshold_int"]
            per[f"{t['rate_khz']:g}"] = {k: float(w[f].sum() / w.sum() * unit) for k, f in zip((*v, "both"), (fa, fb, fa & fb))}
        out[name] = per
    return {"parts": list(v), "unit": "signals: % of events; background: kHz", "fired": out}


def _check_thresholds(build: Path, thresholds: list[dict]) -> None:
    """The physics report must describe the thresholds the firmware was built with."""
    path = build / "evaluation" / "thresholds.json"
    written = read_json(path)["thresholds"] if path.exists() else None
    if written != as_json(thresholds):
        raise RuntimeError(f"{path} does not hold the thresholds this evaluation finds: run the thresholds stage again")


def write_design(cfg: Config, build: Path, thresholds: list[dict]) -> Path:
    """build/design.yaml: the trained encoder and its thresholds, the one file every firmware stage reads."""
    from trigger.design import save_design
    from trigger.model.to_design import trained_design

    design = trained_design(cfg, build, thresholds)
    return save_design(design, build / "design.yaml", header="Written by `trigger evaluate` from the trained encoder and its thresholds.\n"
                       "Every firmware stage (emulator, HLS, RTL, simulation) reads this file and nothing else of the model.")
