"""The autoencoder training loop (VAE or plain AE, event weights, early stopping) and magnitude pruning of the
kernels that reach the firmware."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigger.config import Config


@dataclass
class Fitted:
    encoder: object
    decoder: object
    history: dict


# long: one Keras training loop (callbacks, early stopping, the loss terms) that TensorFlow wants defined in one scope
def fit_autoencoder(arch, train, x_va, m_va, w_va, cfg: Config, variational: bool, label: str, term, decoder_fn=None,
                    prune: bool = False) -> Fitted:
    """train: Batches (events drawn per batch); term: the RecoTerm (per-input weights, target ceiling) of the
    reconstruction loss; decoder_fn: the decoder's builder (default: the float decoder of the vae_kl family, used in
    training only); prune: apply training.prune_sparsity (the trigger's own models, not the baselines)."""
    import tensorflow as tf

    from trigger.model.vae import build_decoder, build_encoder
    from trigger.progress import console

    t = cfg.training
    tf.keras.utils.set_random_seed(t.seed)
    enc, dec = build_encoder(arch), (decoder_fn or build_decoder)(arch)
    opt = tf.keras.optimizers.Adam(t.learning_rate)
    beta = tf.constant(t.beta if variational else 0.0, tf.float32)
    variables = enc.trainable_variables + dec.trainable_variables
    rw, ceiling = tf.constant(term.weights, tf.float32), tf.constant(term.ceiling, tf.float32)

    def losses(x, m, w, training):
        mu, logvar = enc(x, training=training)
        logvar = tf.clip_by_value(logvar, -10.0, 10.0)
        if variational and training:
            z = mu + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mu))
        else:
            z = mu
        reco = dec(z, training=training)
        rec = tf.reduce_sum(m * rw * tf.square(reco - tf.minimum(x, ceiling)), axis=1) / tf.reduce_sum(m, axis=1)
        kl = 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - logvar - 1.0, axis=1) if variational else 0.0 * rec
        total = tf.reduce_sum(w * (rec + beta * kl)) / tf.reduce_sum(w)
        return total, tf.reduce_sum(w * rec) / tf.reduce_sum(w), tf.reduce_sum(w * kl) / tf.reduce_sum(w)

    pruner = Pruner([enc, dec], t) if prune and t.prune_sparsity > 0 else None

    @tf.function
    def step(x, m, w):
        with tf.GradientTape() as tape:
            total, rec, kl = losses(x, m, w, True)
        grads = tape.gradient(total, variables)
        opt.apply_gradients(zip(grads, variables))
        if pruner is not None:
            pruner.apply()
        return total

    @tf.function
    def evaluate(x, m, w):
        return losses(x, m, w, False)

    rng = np.random.default_rng(t.seed)
    n = len(train)
    history = {"loss": [], "val_loss": [], "val_reco": [], "val_kl": []}
    best, best_weights, wait = np.inf, None, 0
    for epoch in range(t.epochs):
        if pruner is not None:
            pruner.update(epoch)
        order = rng.permutation(n)
        tot = 0.0
        for s in range(0, n, t.batch_size):
            idx = order[s : s + t.batch_size]
            tot += float(step(*train[idx])) * len(idx)
        val, rec, kl = (float(v) for v in evaluate(x_va, m_va, w_va))
        for k, v in zip(history, (tot / n, val, rec, kl)):
            history[k].append(v)
        console.print(f"  {label} epoch {epoch + 1:3d}/{t.epochs}  loss {tot / n:.4f}  val {val:.4f} (reco {rec:.4f}, kl {kl:.4f})")
        if pruner is not None and not pruner.full(epoch):
            continue  # a denser model would win: the best is chosen among fully pruned epochs
        if val < best - 1e-5:
            best, wait = val, 0
            best_weights = (enc.get_weights(), dec.get_weights())
        else:
            wait += 1
            if wait >= t.patience:
                console.print(f"  {label}: early stop, best val {best:.4f}")
                break
    enc.set_weights(best_weights[0])
    dec.set_weights(best_weights[1])
    if pruner is not None:
        history["sparsity"] = pruner.sparsity()
    history["best_val_loss"] = best
    history["epochs_run"] = len(history["loss"])
    return Fitted(enc, dec, history)


class Pruner:
    """Magnitude pruning of every QKeras dense kernel of the models (the layers the firmware keeps; float training-only
    heads are left alone): at each epoch from prune_start the smallest weights of each kernel, a fraction rising
    linearly to prune_sparsity over prune_ramp epochs, are masked to 0, and held at 0 after every optimizer step."""

    def __init__(self, models: list, t) -> None:
        import tensorflow as tf
        from qkeras import QDense

        self.t = t
        self.kernels = [layer.kernel for m in models for layer in m.layers if isinstance(layer, QDense)]
        self.masks = [tf.Variable(tf.ones_like(k), trainable=False) for k in self.kernels]

    def target(self, epoch: int) -> float:
        t = self.t
        return t.prune_sparsity * min(max(epoch - t.prune_start + 1, 0) / t.prune_ramp, 1.0)

    def full(self, epoch: int) -> bool:
        return self.target(epoch) >= self.t.prune_sparsity

    def update(self, epoch: int) -> None:
        """New masks from the kernels' magnitudes at this epoch's target (a pruned weight stays pruned)."""
        s = self.target(epoch)
        if s <= 0:
            return
        for k, m in zip(self.kernels, self.masks):
            w = np.abs(k.numpy() * m.numpy()).ravel()
            n_zero = int(round(s * w.size))
            keep = np.ones(w.size, dtype=np.float32)
            keep[np.argsort(w, kind="stable")[:n_zero]] = 0.0
            m.assign(keep.reshape(k.shape))
            k.assign(k * m)

    def apply(self) -> None:
        for k, m in zip(self.kernels, self.masks):
            k.assign(k * m)

    def sparsity(self) -> float:
        """The fraction of the kernels' weights at 0."""
        n = sum(int(np.prod(k.shape)) for k in self.kernels)
        return float(sum(int((k.numpy() == 0).sum()) for k in self.kernels) / n)
