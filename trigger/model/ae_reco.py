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
from trigger.model import reco_graph
from trigger.model.reco_graph import Step

MU, RECO = "mu", "reco"  # MU: the exposed tensor (the firmware's mu port)


def field_weights(cfg: Config) -> np.ndarray:
    return cfg.training.reco_field_weights.per_input().astype(np.int64)


def score_type(cfg: Config) -> FixedType:
    return reco_graph.score_type(cfg.model.input.type, field_weights(cfg))


def build_decoder(arch, name: str = "decoder"):
    """QDense layers mirroring the encoder (types as the encoder's), the output cast to the input type."""
    import tensorflow as tf

    z = tf.keras.Input(shape=(arch.latent,), name="latent")
    return tf.keras.Model(z, reco_graph.qdense_stack(z, list(reversed(arch.hidden)), arch, "dec", N_FEATURES, arch.input, RECO),
                          name=name)


def build_score_model(encoder, decoder, weights: np.ndarray):
    """(mu, score) from the scaled inputs: the encoder's mu, the decoder's layers on it, the score head."""
    import tensorflow as tf

    from trigger.model import vae

    mu = encoder.get_layer(vae.MU).output
    x = mu
    for layer in decoder.layers[1:]:  # the decoder's own layers (shared weights), inlined: one flat model
        x = layer(x)
    return tf.keras.Model(encoder.input, [mu, reco_graph.keras_score(x, encoder.get_layer(vae.INPUT).output, weights)], name="trigger")


def design_nodes(cfg: Config, dense: list[dict], to_int, accumulator) -> list[dict]:
    """The graph (format-2 node dicts) of a trained ae_reco model: encoder, mu, decoder, reco, diff, square, the
    weighted sum. `dense`: the model's quantized dense layers in order (encoder's then decoder's)."""
    m = cfg.model
    n = len(m.hidden)
    steps = ([Step(f"dense{i}_relu", "relu", m.activation.type) for i in range(n)] + [Step(MU, "linear", m.mu.type)]
             + reco_graph.relu_steps("dec", n, m.activation.type) + [Step(RECO, "linear", m.input.type)])
    return (reco_graph.chain_nodes(dense, steps, m, to_int, accumulator)
            + reco_graph.error_nodes(RECO, "input", m.input.type, field_weights(cfg)))
