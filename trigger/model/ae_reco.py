"""The `ae_reco` family: a quantized autoencoder whose firmware computes its reconstruction error.

score = sum_i w_i (reco_i - x_i)^2 over the 57 scaled inputs x (in the input type), w = the integer field weights
(training.reco_field_weights: pT, eta, phi), reco = the decoder's output cast to the input type. Every cast after
the decoder is exact (types below), so the QKeras model's own score output (its head in float64) equals the
firmware's. Empty object slots are inputs like any other: their scaled value (the offset's image of a zero word) is
a target the decoder learns; the training loss is this score over all 57 inputs, without the vae_kl family's
padding mask or pT target ceiling, so the trained quantity and the firmware score are the same function.
"""

from __future__ import annotations

import numpy as np

from trigger.config import Config
from trigger.data.layout import N_FEATURES
from trigger.design.fixed import FixedType

WEIGHT_T = FixedType(9, 9, signed=False)  # the field weights: integers 0..511 (checked by the config)
MU_NODE, RECO_NODE = "mu", "reco"


def field_weights(cfg: Config) -> np.ndarray:
    return cfg.training.reco_field_weights.per_input().astype(np.int64)


def diff_type(cfg: Config) -> FixedType:
    """reco - x, both in the input type: one more integer bit holds every difference exactly."""
    t = cfg.model.input.type
    return FixedType(t.width + 1, t.integer + 1, signed=True)


def square_type(cfg: Config) -> FixedType:
    """diff^2 exactly: |diff| <= 2^I, so 2I + 1 integer bits (the square of the most negative value included)."""
    d = diff_type(cfg)
    integer = 2 * (d.integer - 1) + 1
    return FixedType(integer + 2 * d.frac, integer, signed=False)


def score_type(cfg: Config) -> FixedType:
    """The weighted sum exactly: the dense accumulator that holds every partial sum (also the score's type)."""
    from trigger.model.to_design import _accumulator

    w = field_weights(cfg)[:, None]
    return _accumulator(square_type(cfg), w, WEIGHT_T, np.zeros(1, np.int64), WEIGHT_T)


def build_decoder(arch, name: str = "decoder"):
    """QDense layers mirroring the encoder (types as the encoder's), the output cast to the input type."""
    import tensorflow as tf
    from qkeras import QActivation, QDense

    from trigger.model.vae import qbits, qrelu

    z = tf.keras.Input(shape=(arch.latent,), name="latent")
    x = z
    for i, h in enumerate(reversed(arch.hidden)):
        x = QDense(h, kernel_quantizer=qbits(arch.weight), bias_quantizer=qbits(arch.bias), name=f"dec_dense{i}")(x)
        x = QActivation(qrelu(arch.activation), name=f"dec_relu{i}")(x)
    x = QDense(N_FEATURES, kernel_quantizer=qbits(arch.weight), bias_quantizer=qbits(arch.bias), name="reco_dense")(x)
    return tf.keras.Model(z, QActivation(qbits(arch.input), name=RECO_NODE)(x), name=name)


def build_score_model(encoder, decoder, weights: np.ndarray):
    """(mu, score) from the scaled inputs: the encoder's mu, the decoder's layers on it, then the score head in
    float64 (products up to ~40 bits: float32 would round them) with the field weights as a fixed Dense kernel."""
    import tensorflow as tf

    from trigger.model.vae import INPUT, MU

    inp = encoder.input
    mu = encoder.get_layer(MU).output
    x = mu
    for layer in decoder.layers[1:]:  # the decoder's own layers (shared weights), inlined: one flat model
        x = layer(x)
    diff = tf.keras.layers.Subtract(name="diff")([x, encoder.get_layer(INPUT).output])
    sq = tf.keras.layers.Multiply(name="diff_squared")([diff, diff])  # exact in float32 (at most 2 x 11 bits)
    head = tf.keras.layers.Dense(1, use_bias=False, trainable=False, dtype="float64", name="score")
    score = head(sq)
    head.set_weights([np.asarray(weights, dtype=np.float64)[:, None]])
    return tf.keras.Model(inp, [mu, score], name="trigger")


def design_nodes(cfg: Config, dense: list[dict], to_int, accumulator) -> list[dict]:
    """The graph (format-2 node dicts) of a trained ae_reco model: encoder, mu, decoder, reco, diff, square, the
    weighted sum. `dense`: the model's quantized dense layers in order (encoder's then decoder's)."""
    m = cfg.model
    n_enc = len(m.hidden) + 1
    if len(dense) != 2 * n_enc:
        raise ValueError(f"model has {len(dense)} quantized dense layers, an ae_reco of hidden {m.hidden} has {2 * n_enc}")
    nodes, prev, in_type = [], "input", m.input.type
    for i, d in enumerate(dense):
        w = to_int(d["kernel"], m.weight.type, f"layer {d['name']!r} kernel")
        b = to_int(d["bias"], m.bias.type, f"layer {d['name']!r} bias")
        acc = accumulator(in_type, w, m.weight.type, b, m.bias.type)
        nodes.append({"name": d["name"], "op": "dense", "input": prev, "weight": (w * m.weight.type.lsb).tolist(),
                      "bias": (b * m.bias.type.lsb).tolist(), "weight_type": m.weight.type.hls(), "bias_type": m.bias.type.hls(),
                      "accum_type": acc.hls(), "result_type": acc.hls()})
        if i == n_enc - 1:
            prev, in_type, op = MU_NODE, m.mu.type, "linear"
        elif i == 2 * n_enc - 1:
            prev, in_type, op = RECO_NODE, m.input.type, "linear"
        else:
            prev, in_type, op = f"{d['name']}_relu", m.activation.type, "relu"
        nodes.append({"name": prev, "op": op, "input": d["name"], "type": in_type.hls()})
    st = score_type(cfg)
    nodes += [
        {"name": "diff", "op": "subtract", "inputs": [RECO_NODE, "input"], "type": diff_type(cfg).hls()},
        {"name": "diff_squared", "op": "square", "input": "diff", "type": square_type(cfg).hls()},
        {"name": "score", "op": "dense", "input": "diff_squared", "weight": field_weights(cfg)[:, None].astype(float).tolist(),
         "bias": [0.0], "weight_type": WEIGHT_T.hls(), "bias_type": WEIGHT_T.hls(), "accum_type": st.hls(), "result_type": st.hls()},
    ]
    return nodes
