"""QKeras VAE. The trigger keeps the encoder alone: score = sum(mu^2), the KL term without sigma.

Every quantizer comes from the config's fixed-point types (trigger.design.fixed.FixedType), the same
objects the hls4ml config, the da4ml trace and the firmware description use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QDense, quantized_bits, quantized_relu

from trigger.data.layout import N_FEATURES
from trigger.design.fixed import FixedType

INPUT, MU, LOGVAR = "input_quant", "mu", "logvar"


@dataclass(frozen=True)
class Arch:
    """Widths and types of one encoder (the trigger's, or a baseline's)."""

    hidden: tuple[int, ...]
    latent: int
    input: FixedType
    weight: FixedType
    bias: FixedType
    activation: FixedType
    mu: FixedType


def qbits(t: FixedType):
    # symmetric=0: the full two's-complement range, as ap_fixed's AP_SAT (symmetric would be AP_SAT_SYM)
    return quantized_bits(t.width, t.integer - 1, symmetric=0, keep_negative=True, alpha=1)


def qrelu(t: FixedType):
    return quantized_relu(t.width, t.integer)


def build_encoder(arch: Arch, name: str = "encoder") -> tf.keras.Model:
    inp = tf.keras.Input(shape=(N_FEATURES,), name="scaled_input")
    x = QActivation(qbits(arch.input), name=INPUT)(inp)
    for i, h in enumerate(arch.hidden):
        x = QDense(h, kernel_quantizer=qbits(arch.weight), bias_quantizer=qbits(arch.bias), name=f"dense{i}")(x)
        x = QActivation(qrelu(arch.activation), name=f"relu{i}")(x)
    mu = QDense(arch.latent, kernel_quantizer=qbits(arch.weight), bias_quantizer=qbits(arch.bias), name="mu_dense")(x)
    mu = QActivation(qbits(arch.mu), name=MU)(mu)
    logvar = tf.keras.layers.Dense(arch.latent, name=LOGVAR)(x)  # training only: never in firmware
    return tf.keras.Model(inp, [mu, logvar], name=name)


def build_decoder(arch: Arch) -> tf.keras.Model:
    z = tf.keras.Input(shape=(arch.latent,))
    x = z
    for i, h in enumerate(reversed(arch.hidden)):
        x = tf.keras.layers.Dense(h, activation="relu", name=f"dec{i}")(x)
    out = tf.keras.layers.Dense(N_FEATURES, name="reco")(x)
    return tf.keras.Model(z, out, name="decoder")


def build_score_model(encoder: tf.keras.Model) -> tf.keras.Model:
    """Encoder without the log-variance head, plus sum(mu^2) as Multiply + Dense of ones (bit-exact in hls4ml)."""
    inp = encoder.input
    mu = encoder.get_layer(MU).output
    sq = tf.keras.layers.Multiply(name="mu_squared")([mu, mu])
    score = tf.keras.layers.Dense(1, use_bias=False, kernel_initializer="ones", trainable=False, name="score")(sq)
    return tf.keras.Model(inp, [mu, score], name="trigger")


def reco_mask(scaled_shape_words: np.ndarray, mask_padding: bool = True) -> np.ndarray:
    """(N, 57) 1 for real objects' fields (MET always), 0 for zero-padded slots; all 1 without mask_padding."""
    if not mask_padding:
        return np.ones(np.shape(scaled_shape_words), dtype=np.float32)
    w = np.asarray(scaled_shape_words).reshape(len(scaled_shape_words), -1, 3)
    present = w[:, :, 0] != 0
    present[:, 0] = True
    return np.repeat(present, 3, axis=1).astype(np.float32)


def reco_weights(
    x: np.ndarray, mask: np.ndarray, weights: np.ndarray, mode: str = "none", field: np.ndarray | None = None, min_events: int = 50
) -> np.ndarray:
    """(57,) weights of each input's squared error in the reconstruction term: the mode's weight times
    `field` (per-input multipliers, e.g. FieldWeights.per_input()). none: 1. variance: 1 / the
    event-weighted variance of the scaled input over the events where it is present (inputs present in
    fewer than `min_events` events get the median weight); normalised to mean 1 over those fitted."""
    base = _mode_weights(x, mask, weights, mode, min_events)
    return base if field is None else (base * np.asarray(field, dtype=np.float32)).astype(np.float32)


def _mode_weights(x: np.ndarray, mask: np.ndarray, weights: np.ndarray, mode: str, min_events: int) -> np.ndarray:
    n = x.shape[1]
    if mode == "none":
        return np.ones(n, dtype=np.float32)
    if mode != "variance":
        raise ValueError(f"unknown reco_weighting {mode!r} (none or variance)")
    inv = np.full(n, np.nan)
    for i in range(n):
        sel = mask[:, i] > 0
        if sel.sum() < min_events:
            continue
        xi, wi = x[sel, i].astype(np.float64), weights[sel]
        mean = np.average(xi, weights=wi)
        var = np.average((xi - mean) ** 2, weights=wi)
        if var > 0:
            inv[i] = 1.0 / var
    fitted = np.isfinite(inv)
    if not fitted.any():
        return np.ones(n, dtype=np.float32)
    inv /= inv[fitted].mean()
    inv[~fitted] = np.median(inv[fitted])
    return inv.astype(np.float32)


def pt_target_ceiling(x: np.ndarray, mask: np.ndarray, weights: np.ndarray, quantile: float | None, min_events: int = 50) -> np.ndarray:
    """(57,) cap on each pT input's reconstruction target: the event-weighted `quantile` of its scaled
    value over the events where the object is present; +inf for eta/phi, for slots present in fewer
    than `min_events` events, and everywhere when quantile is None."""
    ceiling = np.full(x.shape[1], np.inf, dtype=np.float32)
    if quantile is None:
        return ceiling
    for i in range(0, x.shape[1], 3):  # the layout's (pT, eta, phi) order
        sel = mask[:, i] > 0
        if sel.sum() < min_events:
            continue
        order = np.argsort(x[sel, i], kind="stable")
        xs, ws = x[sel, i][order], np.asarray(weights, dtype=np.float64)[sel][order]
        cum = np.cumsum(ws) / ws.sum()
        ceiling[i] = xs[min(np.searchsorted(cum, quantile), len(xs) - 1)]
    return ceiling


@dataclass(frozen=True)
class RecoTerm:
    """The reconstruction term as trained: each input's squared error times `weights`, against the
    input capped at `ceiling`, averaged over the present fields. Saved as build/model/reco_weights.json."""

    weights: np.ndarray
    ceiling: np.ndarray
    info: dict = field(default_factory=dict)

    def error(self, x: np.ndarray, reco: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return ((reco - np.minimum(x, self.ceiling)) ** 2 * mask * self.weights).sum(1) / mask.sum(1)

    def to_dict(self) -> dict:
        cap = [None if not np.isfinite(c) else float(c) for c in self.ceiling]
        return {**self.info, "weights": self.weights.tolist(), "target_ceiling": cap}

    @classmethod
    def from_dict(cls, d: dict) -> "RecoTerm":
        w = np.asarray(d["weights"], dtype=np.float32)
        cap = d.get("target_ceiling") or [None] * len(w)  # files from before the ceiling existed
        ceiling = np.array([np.inf if c is None else c for c in cap], dtype=np.float32)
        return cls(w, ceiling, {k: v for k, v in d.items() if k not in ("weights", "target_ceiling")})


def quantized_kernels(encoder: tf.keras.Model) -> list[dict]:
    """The encoder's dense layers as exactly-quantised float weights (what the firmware holds)."""
    layers = []
    for layer in encoder.layers:
        if isinstance(layer, QDense):
            k = layer.kernel_quantizer_internal(layer.kernel).numpy().astype(np.float64)
            b = layer.bias_quantizer_internal(layer.bias).numpy().astype(np.float64)
            layers.append({"name": layer.name, "kernel": k, "bias": b})
    return layers
