"""What the reconstruction-score families (ae_reco, embed_ae) share: a chain of quantized dense layers written as
graph nodes, and the score sum_i w_i (reco_i - target_i)^2 with every cast exact, in the design and in Keras.

reco and target share one type t; their difference needs one more integer bit, its square 2I + 1 integer bits
(the square of the most negative difference included), and the weighted sum the accumulator that holds every
partial sum. With no rounding anywhere after the decoder, the Keras model's score head (float64) is the firmware's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigger.design.fixed import FixedType


def diff_type(t: FixedType) -> FixedType:
    return FixedType(t.width + 1, t.integer + 1, signed=True)


def square_type(t: FixedType) -> FixedType:
    d = diff_type(t)
    integer = 2 * (d.integer - 1) + 1
    return FixedType(integer + 2 * d.frac, integer, signed=False)


def weight_type(weights: np.ndarray) -> FixedType:
    """Unsigned integers holding every weight."""
    return FixedType.int(max(int(np.max(weights)).bit_length(), 1), signed=False)


def score_type(t: FixedType, weights: np.ndarray) -> FixedType:
    from trigger.model.to_design import _accumulator

    wt = weight_type(weights)
    return _accumulator(square_type(t), np.asarray(weights, np.int64)[:, None], wt, np.zeros(1, np.int64), wt)


@dataclass(frozen=True)
class Step:
    """One dense layer of the chain: the tensor its activation writes, that activation and its type."""

    name: str
    op: str  # relu | linear
    type: FixedType


def chain_nodes(dense: list[dict], steps: list[Step], m, to_int, accumulator, start: str = "input") -> list[dict]:
    """Format-2 node dicts of quantized dense layers in order (`dense`: quantized_kernels), each followed by its
    step's activation node; m: the ModelConfig (weight, bias types); `start`'s type is m.input's."""
    if len(dense) != len(steps):
        raise ValueError(f"model has {len(dense)} quantized dense layers, the family's graph has {len(steps)}")
    nodes, prev, in_type = [], start, m.input.type
    for d, st in zip(dense, steps):
        w = to_int(d["kernel"], m.weight.type, f"layer {d['name']!r} kernel")
        b = to_int(d["bias"], m.bias.type, f"layer {d['name']!r} bias")
        acc = accumulator(in_type, w, m.weight.type, b, m.bias.type)
        nodes.append({"name": d["name"], "op": "dense", "input": prev, "weight": (w * m.weight.type.lsb).tolist(),
                      "bias": (b * m.bias.type.lsb).tolist(), "weight_type": m.weight.type.hls(), "bias_type": m.bias.type.hls(),
                      "accum_type": acc.hls(), "result_type": acc.hls()})
        nodes.append({"name": st.name, "op": st.op, "input": d["name"], "type": st.type.hls()})
        prev, in_type = st.name, st.type
    return nodes


def error_nodes(reco: str, target: str, t: FixedType, weights: np.ndarray) -> list[dict]:
    """diff = reco - target, its square, and the score node: a dense node with the weights as its one column."""
    wt, st = weight_type(weights), score_type(t, weights)
    return [
        {"name": "diff", "op": "subtract", "inputs": [reco, target], "type": diff_type(t).hls()},
        {"name": "diff_squared", "op": "square", "input": "diff", "type": square_type(t).hls()},
        {"name": "score", "op": "dense", "input": "diff_squared", "weight": np.asarray(weights, float)[:, None].tolist(),
         "bias": [0.0], "weight_type": wt.hls(), "bias_type": wt.hls(), "accum_type": st.hls(), "result_type": st.hls()},
    ]


def keras_score(reco, target, weights: np.ndarray):
    """The same score on Keras tensors: (reco - target)^2 exact in float32 (at most 2 x 12 bits), the weighted
    sum in float64 (float32 would round it)."""
    import tensorflow as tf

    diff = tf.keras.layers.Subtract(name="diff")([reco, target])
    sq = tf.keras.layers.Multiply(name="diff_squared")([diff, diff])
    head = tf.keras.layers.Dense(1, use_bias=False, trainable=False, dtype="float64", name="score")
    score = head(sq)
    head.set_weights([np.asarray(weights, dtype=np.float64)[:, None]])
    return score


def qdense_stack(x, widths, arch, prefix: str, out_width: int, out_type: FixedType, out_name: str):
    """QDense + quantized ReLU per width, then QDense(out_width) cast to out_type (named out_name)."""
    from qkeras import QActivation, QDense

    from trigger.model.vae import qbits, qrelu

    for i, h in enumerate(widths):
        x = QDense(h, kernel_quantizer=qbits(arch.weight), bias_quantizer=qbits(arch.bias), name=f"{prefix}_dense{i}")(x)
        x = QActivation(qrelu(arch.activation), name=f"{prefix}_relu{i}")(x)
    x = QDense(out_width, kernel_quantizer=qbits(arch.weight), bias_quantizer=qbits(arch.bias), name=f"{prefix}_out")(x)
    return QActivation(qbits(out_type), name=out_name)(x)


def relu_steps(prefix: str, n: int, act: FixedType) -> list[Step]:
    return [Step(f"{prefix}_relu{i}", "relu", act) for i in range(n)]
