"""The `or` family: two families' triggers trained side by side on the same data with the same scaling and model
settings, ORed in one design (trigger/design/combine.py): score = max(one part's score, c x the other's).

c is the ratio of the two parts' thresholds when, at the lowest target rate, the first part alone would take `share`
of that rate and the second the rest (weighted validation background, as trained), rounded to `scale_bits`
significant bits: the part with the smaller threshold is scaled up onto the other's, so that no bit of either score
is lost (the combined score's type holds both exactly, and is stated in or_scale.json). Every threshold of the
design is then an OR of the two parts. Each part's own score stays in the physics report (`or_<family>`, and
`or_parts`: what each part fires at the trigger's thresholds).

Files: build/model/parts/<family>/ holds each part's models as its own family writes them; build/model/or_scale.json
the scale; build/model/trigger_model.h5 the combined QKeras model (both parts' layers, names prefixed by the family,
and the float64 head max(., c x .)), whose score the firmware must equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.io_utils import read_json, write_json
from trigger.model import families

PARTS, SCALE_FILE = "parts", "or_scale.json"


def part_dir(build_model: Path, family: str) -> Path:
    return Path(build_model) / PARTS / family


def fit(cfg: Config, first, out: Path, root: Path | None) -> dict:
    """Train both parts (first: the Prepared samples of the first part's configuration), choose the scale, write
    the combined model. Returns the parts' histories and the scale."""
    from trigger.model.train import prepare, save_keras, train_family_model
    from trigger.progress import console

    o = cfg.model.or_family
    history, models, prepared = {}, [], first
    for k, fam in enumerate(o.parts):
        pcfg = families.part_config(cfg, fam)
        if k:  # the second part's own samples (its loss may mask padding differently); the scaling must agree
            prepared = prepare(pcfg, root)
            if prepared.scaling.to_dict() != first.scaling.to_dict():
                raise RuntimeError(f"model.or_family.parts: {fam!r} fitted another input scaling than {o.parts[0]!r}")
        console.print(f"  OR part {k + 1}/2: {fam}")
        d = part_dir(out, fam)
        d.mkdir(parents=True, exist_ok=True)
        history[fam] = train_family_model(pcfg, prepared.arch, prepared.args, prepared.term, d, prepared.va.words)
        models.append(_load(d))
    scale = choose_scale(cfg, models, first.scaling, first.va.words, first.va.weights)
    write_json(out / SCALE_FILE, scale)
    save_keras(build_score_model(cfg, models, scale), out / "trigger_model.h5")
    return {"parts": history, "scale": scale}


def _load(d: Path):
    from trigger.model.train import load_keras_file

    return load_keras_file(d / "trigger_model.h5")


def part_models(build: Path) -> dict:
    """{family: that part's trigger model} of a trained `or` build."""
    cfg_parts = read_json(Path(build) / "model" / SCALE_FILE)["parts"]
    return {f: _load(part_dir(Path(build) / "model", f)) for f in cfg_parts}


def part_scores(cfg: Config, model, family: str, x: np.ndarray) -> np.ndarray:
    """One part's integer score on scaled inputs x, as its own family computes it in QKeras."""
    from trigger.physics.scoring import software_scores

    pcfg = families.part_config(cfg, family)
    return software_scores(model, x, cfg.model.mu.type, families.keras_score_type(pcfg))[1]


def or_thresholds(a: np.ndarray, b: np.ndarray, w: np.ndarray, share: float, total: float) -> tuple[float, float]:
    """Thresholds on two scores giving the first share x r and the second (1 - share) x r of the weighted pass
    fraction, r bisected so that their OR passes `total` (the overlap is counted once)."""
    from trigger.physics.scoring import threshold_for_fraction

    lo, hi = 0.0, 2 * total
    for _ in range(40):
        r = (lo + hi) / 2
        ta, tb = threshold_for_fraction(a, w, share * r), threshold_for_fraction(b, w, (1 - share) * r)
        lo, hi = (r, hi) if w[(a >= ta) | (b >= tb)].sum() / w.sum() <= total else (lo, r)
    return threshold_for_fraction(a, w, share * lo), threshold_for_fraction(b, w, (1 - share) * lo)


def choose_scale(cfg: Config, models: list, scaling, words: np.ndarray, weights: np.ndarray) -> dict:
    """c = m / 2^k from the parts' thresholds where their OR passes the lowest target rate with `share` of the
    rate given to the first part (or_thresholds, on the weighted validation background)."""
    from trigger.design.combine import or_score_type

    o = cfg.model.or_family
    x = scaling.apply(words).astype(np.float32)
    rate = min(cfg.firmware.rates_khz)
    types = [families.score_type(families.part_config(cfg, f)) for f in o.parts]
    sa, sb = (part_scores(cfg, m, f, x) for m, f in zip(models, o.parts))
    t = [float(v) * q.lsb for v, q in zip(or_thresholds(sa, sb, weights, o.share, rate / cfg.evaluation.stream_rate_khz), types)]
    scaled = int(t[1] < t[0])  # the smaller threshold is scaled up onto the larger
    if min(t) <= 0:
        raise RuntimeError(f"model.or_family: {o.parts[scaled]!r}'s threshold at {rate:g} kHz is {min(t)}: no scale makes the OR")
    m, k = significant(t[1 - scaled] / t[scaled], o.scale_bits)
    return {"parts": list(o.parts), "share": o.share, "rate_khz": rate, "thresholds": t, "scaled": scaled, "scale_m": m,
            "scale_k": k, "scale": m / 2**k, "score_type": or_score_type(types, scaled, m, k).hls(),
            "part_score_types": [t.hls() for t in types]}


def significant(r: float, bits: int) -> tuple[int, int]:
    """(m, k) with m / 2^k the nearest to r > 0 of `bits` significant bits (2^(bits-1) <= m < 2^bits)."""
    k = bits - 1 - int(np.floor(np.log2(r)))
    m = int(round(r * 2.0**k))
    if m >= 2**bits:  # rounded up to the next power of two
        m, k = m // 2, k - 1
    return m, k


def build_score_model(cfg: Config, models: list, scale: dict):
    """One QKeras model: both parts' layers on one input (names prefixed by the family), the first part's exposed
    output, and score = max(unscaled part, c x scaled part) in float64 (every value exact there)."""
    import tensorflow as tf

    from trigger.data.layout import N_FEATURES

    inp = tf.keras.Input(shape=(N_FEATURES,), name="scaled_input")
    mus, scores = [], []
    for fam, m in zip(cfg.model.or_family.parts, models):
        def rename(layer, fam=fam):
            return layer.__class__.from_config({**layer.get_config(), "name": f"{fam}_{layer.name}"})

        clone = tf.keras.models.clone_model(m, input_tensors=[inp], clone_function=rename)
        for layer in m.layers[1:]:
            clone.get_layer(f"{fam}_{layer.name}").set_weights(layer.get_weights())
        mu, s = clone.outputs
        if fam == "vae_kl":  # its own head sums in float32, which can round: sum(mu^2) again in float64
            sq = tf.keras.layers.Multiply(dtype="float64", name=f"{fam}_mu2")([mu, mu])
            head = tf.keras.layers.Dense(1, use_bias=False, trainable=False, dtype="float64", name=f"{fam}_mu2_sum")
            s = head(sq)
            head.set_weights([np.ones((mu.shape[-1], 1))])
        mus.append(mu)
        scores.append(s)
    k = scale["scaled"]
    head = tf.keras.layers.Dense(1, use_bias=False, trainable=False, dtype="float64", name="or_scaled")
    scaled = head(scores[k])
    head.set_weights([np.full((1, 1), scale["scale_m"] / 2.0 ** scale["scale_k"])])
    score = tf.keras.layers.Maximum(dtype="float64", name="score")([scores[1 - k], scaled])
    return tf.keras.Model(inp, [mus[0], score], name="trigger")


def build_design(cfg: Config, build: Path, scaling, thresholds: list[dict], name: str = "trigger"):
    """The combined design: each part's design from its own model (its family's rules), then or_designs."""
    from trigger.design.combine import or_designs
    from trigger.model.to_design import build_design as part_design
    from trigger.model.to_design import design_thresholds, threshold_dicts

    scale = read_json(Path(build) / "model" / SCALE_FILE)
    models = part_models(build)
    parts = [(f, part_design(families.part_config(cfg, f), models[f], scaling, [], name=f)) for f in scale["parts"]]
    return or_designs(parts, scale["scaled"], scale["scale_m"], scale["scale_k"], name, threshold_dicts(design_thresholds(thresholds)))


def on_combined_lsb(build: Path, scores: dict) -> dict:
    """Each part's integer score (keys `or_<family>`) as the value it enters the maximum with, in LSBs of the
    combined score (the scaled part times m / 2^k): a threshold on the combined score fires where either passes it."""
    from trigger.design.fixed import FixedType

    s = read_json(Path(build) / "model" / SCALE_FILE)
    top = FixedType.parse(s["score_type"]).frac
    out = {}
    for j, (f, t) in enumerate(zip(s["parts"], s["part_score_types"])):
        v, frac = np.asarray(scores[f"or_{f}"], dtype=np.int64), FixedType.parse(t).frac
        out[f] = (v * s["scale_m"]) << (top - frac - s["scale_k"]) if j == s["scaled"] else v << (top - frac)
    return out


def score_type(build: Path):
    """The combined score's type, as training chose it (or_scale.json)."""
    from trigger.design.fixed import FixedType

    path = Path(build) / "model" / SCALE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; the or family's score type is chosen in training (trigger train)")
    return FixedType.parse(read_json(path)["score_type"])
