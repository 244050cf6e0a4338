"""The `embed_ae` family (AXOL1TL v5/v6's recipe): an embedding h of the event trained with VICReg on two augmented
views of each background event (a float projector head in training only), then a small autoencoder on the frozen
embedding; score = sum_j (AE(h)_j - h_j)^2. In firmware: the embedding network, the autoencoder (encoder and
decoder), the difference, its square and the sum, every cast after the decoder exact (trigger/model/reco_graph.py).

Augmentations act on raw words, as the detector would see the event otherwise: one rotation of every present
object's phi (wrapping around the phi bins; MET's too), an eta flip of every object, a Gaussian smearing of every
pT, dropping present e/gamma, muon and jet objects. Each respects what L1 physics is symmetric under (phi, eta) or
insensitive to at trigger level (resolution, an object lost at threshold).
"""

from __future__ import annotations

import numpy as np

from trigger.config import Config
from trigger.data.layout import N_FEATURES, SLOTS
from trigger.data.units import field_ranges
from trigger.model import reco_graph
from trigger.model.reco_graph import Step

EMB, MU, RECO = "emb", "ae_mu", "ae_reco"  # MU: the exposed tensor (the firmware's mu port), the AE's latent


def augment(words: np.ndarray, cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """One augmented view of each event (words (N, 57) -> (N, 57), same types)."""
    a = cfg.model.embed_ae.augment
    w = np.array(words, dtype=np.int64).reshape(len(words), -1, 3)
    n = len(w)
    present = w[:, :, 0] > 0
    present[:, 0] = True  # MET is always there
    rng_ = field_ranges(cfg.units).reshape(-1, 3, 2)
    if a.phi_rotation:  # one angle per event, in each object's own phi bins
        turn = rng.random(n)
        bins = rng_[:, 2, 1] + 1
        shift = np.floor(turn[:, None] * bins[None, :]).astype(np.int64)
        w[:, :, 2] = np.where(present, (w[:, :, 2] + shift) % bins[None, :], w[:, :, 2])
    if a.eta_flip > 0:
        flip = rng.random(n) < a.eta_flip
        w[flip, :, 1] = np.clip(-w[flip, :, 1], rng_[:, 1, 0], rng_[:, 1, 1])
    if a.pt_smear > 0:
        pt = w[:, :, 0] * (1 + a.pt_smear * rng.standard_normal(w.shape[:2]))
        w[:, :, 0] = np.where(present, np.clip(np.rint(pt), 0, rng_[:, 0, 1]), 0)
    if a.drop_object > 0:
        drop = (rng.random(w.shape[:2]) < a.drop_object) & present
        drop[:, SLOTS["met"]] = False
        w[drop] = 0
    return w.reshape(n, N_FEATURES)


def vicreg(z1, z2, cfg: Config):
    """VICReg (Bardes et al. 2022): invariance (MSE between views), variance (hinge on each dimension's std at 1),
    covariance (squared off-diagonal covariances), weighted as configured."""
    import tensorflow as tf

    e = cfg.model.embed_ae
    inv = tf.reduce_mean(tf.square(z1 - z2))

    def var_cov(z):
        z = z - tf.reduce_mean(z, axis=0)
        std = tf.sqrt(tf.math.reduce_variance(z, axis=0) + 1e-4)
        n, d = tf.cast(tf.shape(z)[0], tf.float32), tf.cast(tf.shape(z)[1], tf.float32)
        cov = tf.matmul(z, z, transpose_a=True) / (n - 1)
        off = tf.reduce_sum(tf.square(cov)) - tf.reduce_sum(tf.square(tf.linalg.diag_part(cov)))
        return tf.reduce_mean(tf.nn.relu(1 - std)), off / d

    v1, c1 = var_cov(z1)
    v2, c2 = var_cov(z2)
    return e.invariance * inv + e.variance * (v1 + v2) + e.covariance * (c1 + c2)


def build_models(cfg: Config, arch):
    """(embedding, projector, ae): the embedding network (scaled inputs -> h), the float projector, the autoencoder
    on h (h -> (latent, reco))."""
    import tensorflow as tf
    from qkeras import QActivation

    from trigger.model.vae import INPUT, qbits

    e = cfg.model.embed_ae
    et = e.embedding_type.type
    inp = tf.keras.Input(shape=(N_FEATURES,), name="scaled_input")
    x = QActivation(qbits(arch.input), name=INPUT)(inp)
    embedding = tf.keras.Model(inp, reco_graph.qdense_stack(x, e.embedding, arch, "emb", e.dim, et, EMB), name="embedding")
    h = tf.keras.Input(shape=(e.dim,), name="h")
    p = h
    for i, width in enumerate(e.projector):
        p = tf.keras.layers.Dense(width, activation="relu" if i < len(e.projector) - 1 else None, name=f"proj{i}")(p)
    projector = tf.keras.Model(h, p, name="projector")
    z = reco_graph.qdense_stack(h, e.hidden, arch, "ae_enc", e.latent, arch.mu, MU)
    reco = reco_graph.qdense_stack(z, list(reversed(e.hidden)), arch, "ae_dec", e.dim, et, RECO)
    return embedding, projector, tf.keras.Model(h, [z, reco], name="ae")


def build_score_model(embedding, ae):
    """(latent, score) from the scaled inputs: the embedding, the autoencoder's layers on it (inlined), the score."""
    import tensorflow as tf

    h = embedding.output
    x, latent = h, None
    for layer in ae.layers[1:]:
        x = layer(x)
        if layer.name == MU:
            latent = x
    return tf.keras.Model(embedding.input, [latent, reco_graph.keras_score(x, h, np.ones(h.shape[-1], np.int64))], name="trigger")


def score_type(cfg: Config):
    e = cfg.model.embed_ae
    return reco_graph.score_type(e.embedding_type.type, np.ones(e.dim, np.int64))


def design_nodes(cfg: Config, dense: list[dict], to_int, accumulator) -> list[dict]:
    """Embedding, autoencoder encoder (latent exposed), decoder, then the unweighted squared distance."""
    m, e = cfg.model, cfg.model.embed_ae
    act, et = m.activation.type, e.embedding_type.type
    steps = (reco_graph.relu_steps("emb", len(e.embedding), act) + [Step(EMB, "linear", et)]
             + reco_graph.relu_steps("ae_enc", len(e.hidden), act) + [Step(MU, "linear", m.mu.type)]
             + reco_graph.relu_steps("ae_dec", len(e.hidden), act) + [Step(RECO, "linear", et)])
    return reco_graph.chain_nodes(dense, steps, m, to_int, accumulator) + reco_graph.error_nodes(RECO, EMB, et, np.ones(e.dim, np.int64))


def fit(cfg: Config, arch, words: np.ndarray, weights: np.ndarray, scaling, va_words: np.ndarray, va_weights: np.ndarray):
    """Train the embedding (VICReg), then the autoencoder on the frozen embedding; returns (embedding, ae, history)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(cfg.training.seed)
    embedding, projector, ae = build_models(cfg, arch)
    hist = {"vicreg": _fit_embedding(cfg, embedding, projector, words, weights, scaling, va_words)}
    h_tr = embedding.predict(scaling.apply(words).astype(np.float32), verbose=0, batch_size=8192)
    h_va = embedding.predict(scaling.apply(va_words).astype(np.float32), verbose=0, batch_size=8192)
    hist["ae"] = _fit_ae(cfg, ae, h_tr, weights, h_va, va_weights)
    hist["epochs_run"] = hist["ae"]["epochs_run"]
    return embedding, ae, hist


def _fit_embedding(cfg: Config, embedding, projector, words, weights, scaling, va_words) -> dict:
    """VICReg on two augmented views; batches drawn with the events' weights (QCD's biased sampling)."""
    import tensorflow as tf

    from trigger.progress import console

    t, e = cfg.training, cfg.model.embed_ae
    rng = np.random.default_rng(t.seed)
    opt = tf.keras.optimizers.Adam(t.learning_rate)
    variables = embedding.trainable_variables + projector.trainable_variables

    @tf.function
    def step(a, b):
        with tf.GradientTape() as tape:
            loss = vicreg(projector(embedding(a, training=True)), projector(embedding(b, training=True)), cfg)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def views(w, r):
        return (scaling.apply(augment(w, cfg, r)).astype(np.float32), scaling.apply(augment(w, cfg, r)).astype(np.float32))

    p = np.asarray(weights, np.float64)
    p = p / p.sum()  # in float64: rng.choice checks that they sum to 1
    va = views(va_words[: 8192], np.random.default_rng(t.seed + 1))  # one fixed pair of validation views
    history = {"loss": [], "val_loss": []}
    for epoch in range(e.embedding_epochs):
        losses = [float(step(*views(words[rng.choice(len(words), t.batch_size, p=p)], rng)))
                  for _ in range(max(len(words) // t.batch_size, 1))]
        val = float(vicreg(projector(embedding(va[0])), projector(embedding(va[1])), cfg))
        history["loss"].append(float(np.mean(losses)))
        history["val_loss"].append(val)
        console.print(f"  embedding (VICReg) epoch {epoch + 1:3d}/{e.embedding_epochs}  loss {np.mean(losses):.4f}  val {val:.4f}")
    return history


def _fit_ae(cfg: Config, ae, h_tr, w_tr, h_va, w_va) -> dict:
    """The autoencoder on the frozen embedding: weighted mean of sum_j (reco_j - h_j)^2, early stopping on val."""
    import tensorflow as tf

    from trigger.progress import console

    t = cfg.training
    opt = tf.keras.optimizers.Adam(t.learning_rate)
    w_tr, w_va = (np.asarray(w, np.float32) / np.mean(w) for w in (w_tr, w_va))

    def loss(h, w):
        reco = ae(h, training=True)[1]
        return tf.reduce_sum(w * tf.reduce_sum(tf.square(reco - h), axis=1)) / tf.reduce_sum(w)

    @tf.function
    def step(h, w):
        with tf.GradientTape() as tape:
            v = loss(h, w)
        opt.apply_gradients(zip(tape.gradient(v, ae.trainable_variables), ae.trainable_variables))
        return v

    rng = np.random.default_rng(t.seed)
    history, best, best_w, wait = {"loss": [], "val_loss": []}, np.inf, ae.get_weights(), 0
    for epoch in range(t.epochs):
        order = rng.permutation(len(h_tr))
        tot = [float(step(h_tr[i], w_tr[i])) for i in np.array_split(order, max(len(order) // t.batch_size, 1))]
        val = float(loss(h_va, w_va))
        history["loss"].append(float(np.mean(tot)))
        history["val_loss"].append(val)
        console.print(f"  AE on the embedding epoch {epoch + 1:3d}/{t.epochs}  loss {np.mean(tot):.4f}  val {val:.4f}")
        if val < best - 1e-5:
            best, best_w, wait = val, ae.get_weights(), 0
        elif (wait := wait + 1) >= t.patience:
            break
    ae.set_weights(best_w)
    history["best_val_loss"], history["epochs_run"] = best, len(history["loss"])
    return history
