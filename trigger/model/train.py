"""Quantization-aware training on background only, honouring event weights."""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigger.config import Config, save_config
from trigger.data.dataset import load_background
from trigger.data.layout import N_FEATURES
from trigger.data.stream import clear_words
from trigger.design.fixed import FixedType
from trigger.io_utils import atomic_path, write_json
from trigger.model import families, or_family
from trigger.model.fit import fit_autoencoder
from trigger.model.scaling import Scaling, count_input_saturation, fit_scaling

log = logging.getLogger(__name__)

# AXOL1TL v1 (cms-hls4ml/AXOL1TL), trained here side by side as a baseline
AXOL1TL_V1 = dict(
    hidden=(32, 16),
    latent=13,
    input=FixedType(8, 6, True, "RND_CONV", "SAT"),
    weight=FixedType(6, 3),
    bias=FixedType(10, 7),
)


def trigger_arch(cfg: Config):
    from trigger.model.vae import Arch

    m = cfg.model
    return Arch(tuple(m.hidden), m.latent, m.input.type, m.weight.type, m.bias.type, m.activation.type, m.mu.type)


def baseline_arch(cfg: Config):
    from trigger.model.vae import Arch

    return Arch(activation=cfg.model.activation.type, mu=FixedType(12, 7, True, "RND_CONV", "SAT"), **AXOL1TL_V1)


class Batches:
    """Training events kept as words; each batch's scaled inputs and mask are made when it is drawn, so no float
    copy of the training sample is held."""

    def __init__(self, words: np.ndarray, weights: np.ndarray, scaling: Scaling, mask_padding: bool):
        self.words, self.weights, self.scaling, self.mask_padding = words, weights, scaling, mask_padding

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, idx):
        x, m = _inputs(self.words[idx], self.scaling, self.mask_padding)
        return x, m, self.weights[idx]


def _inputs(words, scaling: Scaling, mask_padding: bool = True):
    from trigger.model.vae import reco_mask

    return scaling.apply(words).astype(np.float32), reco_mask(words, mask_padding)


def _norm(w, cap=None):
    w = w / w.mean()
    if cap is not None:
        w = np.minimum(w, cap)
        w = w / w.mean()
    return w.astype(np.float32)


def save_keras(model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp.with_suffix(".h5"), include_optimizer=False)
        tmp.with_suffix(".h5").rename(tmp)


@dataclass
class Prepared:
    """What every fit of a build starts from: the samples, the trigger's scaling and its reconstruction term."""

    tr: object
    va: object
    arch: object
    scaling: Scaling
    args: tuple  # (Batches, x_va, m_va, w_va, cfg): the fit's inputs
    term: object
    m_tr: np.ndarray
    w_tr: np.ndarray
    saturation: dict


def prepare(cfg: Config, root: Path | None) -> Prepared:
    """The training samples and everything fitted on them before any model (deterministic: the baselines' own
    stage makes the same again)."""
    from trigger.model.vae import RecoTerm, pt_target_ceiling, reco_weights

    t = cfg.training
    mask_padding = families.mask_padding(cfg)  # ae_reco: the loss is the firmware's score (no mask, no target ceiling)
    # max_events: a uniform sample within every process (mix weights kept); validation capped in proportion
    val_cap = None if t.max_events is None else -(-t.max_events * cfg.data.split.val // cfg.data.split.train)
    tr = load_background(cfg, "train", root, max_events=t.max_events, seed=t.seed)
    va = load_background(cfg, "val", root, max_events=val_cap, seed=t.seed)
    # the splits are copies: the files' words (1.5 GB for ADC2021's background) need not stay for the fits
    # (13.45M events, 2M sample: the baselines stage's set-up peak 5.53 -> 3.90 GiB, 3.1 -> 1.4 GiB while fitting)
    clear_words()
    arch = trigger_arch(cfg)
    sc = cfg.model.scaling
    scaling = fit_scaling(tr.words, tr.weights, arch.input, sc.offset, sc.cover_quantile)
    sat = count_input_saturation(tr.words, scaling, arch.input)
    x_va, m_va = _inputs(va.words, scaling, mask_padding)
    w_tr, w_va = _norm(tr.weights, t.weight_cap), _norm(va.weights, t.weight_cap)
    batches = Batches(tr.words, w_tr, scaling, mask_padding)
    # the loss term's statistics need the whole sample once; that float copy is dropped before training
    x_tr, m_tr = _inputs(tr.words, scaling, mask_padding)
    if cfg.model.family == "ae_reco":
        fw = t.reco_field_weights.per_input()
        term = RecoTerm(fw, np.full(N_FEATURES, np.inf, np.float32), {"mode": "ae_reco: the firmware score", "field_weights": t.reco_field_weights.model_dump()})
    else:
        rw = reco_weights(x_tr, m_tr, w_tr, t.reco_weighting, t.reco_field_weights.per_input())
        info = {"mode": t.reco_weighting, "field_weights": t.reco_field_weights.model_dump(), "pt_quantile": t.reco_pt_quantile}
        term = RecoTerm(rw, pt_target_ceiling(x_tr, m_tr, w_tr, t.reco_pt_quantile), info)
    del x_tr
    return Prepared(tr, va, arch, scaling, (batches, x_va, m_va, w_va, cfg), term, m_tr, w_tr, sat)


def train(cfg: Config, build: str | Path = "build", root: Path | None = None, baselines: bool = True) -> dict:
    """Train the trigger (its family: model.family) on background, and with `baselines` the baselines beside it
    (`trigger run` trains them in a stage of their own: train_baselines); write build/model/."""
    _tf_setup()
    out = Path(build) / "model"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pcfg = families.training_config(cfg)  # the `or` family: its first part's
    p = prepare(pcfg, root)
    side = _baselines(pcfg, p, out, parallel=None) if baselines else {}
    try:
        history = (or_family.fit(cfg, p, out, root) if cfg.model.family == "or"  # each part, then the OR
                   else train_family_model(cfg, p.arch, p.args, p.term, out, p.va.words))
        if side:
            _write_baselines(out, {name: job.result() for name, job in side.items()}, t0)
    finally:
        for job in side.values():
            job.close()
    cap = cfg.training.weight_cap
    tr, va = p.tr, p.va
    result = {
        "family": cfg.model.family,
        "events": {"train": len(tr.words), "val": len(va.words)},
        "sampled_from": {"train": tr.sampled_from or len(tr.words), "val": va.sampled_from or len(va.words)},
        "input_saturation_train": p.saturation,
        "training_weight_cap": cap,
        "events_with_capped_weight": int((tr.weights / tr.weights.mean() > cap).sum()) if cap else 0,
        "word_saturation_background_files": tr.saturation.counts,
        "history": history,
    }
    write_json(out / "scaling.json", p.scaling.to_dict())
    write_json(out / "reco_weights.json", p.term.to_dict())
    save_config(cfg, out / "config.yaml")
    result["seconds"] = time.perf_counter() - t0
    write_json(out / "history.json", result)
    return result


def train_baselines(cfg: Config, build: str | Path = "build", root: Path | None = None) -> dict:
    """The baselines alone (each in a process of its own where train() would do so): the flow's `baselines` stage,
    which runs beside the firmware instead of holding up the trigger's design (the same models, weight for
    weight, as train())."""
    _tf_setup()
    out = Path(build) / "model"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pcfg = families.training_config(cfg)
    jobs = _baselines(pcfg, prepare(pcfg, root), out, parallel=None)
    try:
        return _write_baselines(out, {name: job.result() for name, job in jobs.items()}, t0)
    finally:
        for job in jobs.values():
            job.close()


def _write_baselines(out: Path, history: dict, t0: float) -> dict:
    result = {"history": history, "seconds": time.perf_counter() - t0}
    write_json(out / "baselines.json", result)
    return result


def train_family_model(cfg: Config, arch, args, term, out: Path, va_words: np.ndarray) -> dict:
    """The family's model: trigger_model.h5 gives (mu, score) from the scaled inputs."""
    if cfg.model.family == "embed_ae":
        from trigger.model import embed_ae

        batches, w_va = args[0], args[3]
        emb, ae, hist = embed_ae.fit(cfg, arch, batches.words, batches.weights, batches.scaling, va_words, w_va)
        save_keras(emb, out / "embedding.h5")
        save_keras(ae, out / "embedding_ae.h5")
        save_keras(embed_ae.build_score_model(emb, ae), out / "trigger_model.h5")
        return {"embed_ae": hist}
    if cfg.model.family == "ae_reco":
        from trigger.model import ae_reco

        ae = fit_autoencoder(arch, *args, variational=False, label="AE (reco score)", term=term, decoder_fn=ae_reco.build_decoder,
                             prune=True)
        save_keras(ae.encoder, out / "ae_encoder.h5")
        save_keras(ae.decoder, out / "ae_decoder.h5")
        save_keras(ae_reco.build_score_model(ae.encoder, ae.decoder, ae_reco.field_weights(cfg)), out / "trigger_model.h5")
        return {"ae_reco": ae.history}
    from trigger.model.vae import build_score_model

    vae = fit_autoencoder(arch, *args, variational=True, label="VAE", term=term, prune=True)
    save_keras(vae.encoder, out / "vae_encoder.h5")
    save_keras(vae.decoder, out / "vae_decoder.h5")
    save_keras(build_score_model(vae.encoder), out / "trigger_model.h5")
    return {"vae": vae.history}


# the baselines beside the trigger, each in a process of its own when the sample is small: a fit is single-threaded
# in effect (small layers, one step at a time), so the cores train the models at once; op determinism and the same
# thread count per process keep every number the one a sequential run gives. A large sample stays in one process
# (each child holds a copy of it), and a tiny one too (starting TensorFlow in a new process costs more than its fit).
PARALLEL_BASELINES_EVENTS = (50_000, 1_000_000)


class _Beside:
    """fn(*args) in a spawned process, started now; or, when not parallel, run inline at result()."""

    def __init__(self, fn, args: tuple, parallel: bool):
        self.fn, self.args, self.pool, self.future = fn, args, None, None
        if parallel:
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            self.future = self.pool.submit(fn, *args)

    def result(self):
        return self.future.result() if self.future else self.fn(*self.args)

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown(cancel_futures=True)


def _baselines(cfg: Config, p: Prepared, out: Path, parallel: bool | None) -> dict[str, _Beside]:
    """The plain AE (vae_kl family only: ae_reco is one) and AXOL1TL v1's architecture trained with the same loss
    (the comparison isolates the architecture), started before the trigger's own fit. parallel=None: each in a
    process of its own when the sample's size suits it (PARALLEL_BASELINES_EVENTS)."""
    from trigger.model.vae import RecoTerm, pt_target_ceiling

    lo, hi = PARALLEL_BASELINES_EVENTS
    tr, va, term = p.tr, p.va, p.term
    if parallel is None:
        parallel = lo <= len(tr.words) <= hi
    jobs = {}
    if cfg.model.family == "vae_kl":
        jobs["ae"] = _Beside(_fit_ae, (p.arch, *p.args, term, out), parallel)
    barch = baseline_arch(cfg)
    bscaling = fit_scaling(tr.words, tr.weights, barch.input)
    bx_tr, _ = _inputs(tr.words, bscaling)
    bx_va, _ = _inputs(va.words, bscaling)
    bterm = RecoTerm(term.weights, pt_target_ceiling(bx_tr, p.m_tr, p.w_tr, cfg.training.reco_pt_quantile)
                     if cfg.model.family == "vae_kl" else term.ceiling)  # its own input scale
    del bx_tr
    _, _, m_va, w_va, _ = p.args
    write_json(out / "axol1tl_v1_scaling.json", bscaling.to_dict())
    # its mask as the trigger's
    v1_batches = Batches(tr.words, p.w_tr, bscaling, p.args[0].mask_padding)
    jobs["axol1tl_v1"] = _Beside(_fit_v1, (barch, v1_batches, bx_va, m_va, w_va, cfg, bterm, out), parallel)
    return jobs


def _fit_ae(arch, batches, x_va, m_va, w_va, cfg: Config, term, out: Path) -> dict:
    """The plain AE's fit; module-level functions, so that a spawned process can run them."""
    _tf_setup()
    ae = fit_autoencoder(arch, batches, x_va, m_va, w_va, cfg, variational=False, label="AE", term=term)
    save_keras(ae.encoder, out / "ae_encoder.h5")
    save_keras(ae.decoder, out / "ae_decoder.h5")
    return ae.history


def _fit_v1(barch, batches, x_va, m_va, w_va, cfg: Config, term, out: Path) -> dict:
    _tf_setup()
    axo = fit_autoencoder(barch, batches, x_va, m_va, w_va, cfg, variational=True, label="AXOL1TL-v1", term=term)
    save_keras(axo.encoder, out / "axol1tl_v1_encoder.h5")
    return axo.history


def _tf_setup():
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")  # "gradients do not exist for logvar" is expected for the plain AE


def load_model(build: str | Path, name: str = "trigger_model"):
    return load_keras_file(Path(build) / "model" / f"{name}.h5")


def load_keras_file(path: str | Path):
    """A Keras or QKeras model file (.h5 or .keras), QKeras's layers and quantizers known."""
    from qkeras.utils import load_qmodel

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    return load_qmodel(str(path), compile=False)


def load_reco_term(build: str | Path):
    """The reconstruction term as trained; a model trained before it was saved used the plain error."""
    from trigger.model.vae import RecoTerm

    path = Path(build) / "model" / "reco_weights.json"
    if not path.exists():
        return RecoTerm(np.ones(N_FEATURES, dtype=np.float32), np.full(N_FEATURES, np.inf, dtype=np.float32))
    return RecoTerm.from_dict(json.loads(path.read_text()))


def load_scaling(build: str | Path, name: str = "scaling") -> Scaling:
    return Scaling.from_dict(json.loads((Path(build) / "model" / f"{name}.json").read_text()))
