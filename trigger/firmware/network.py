"""The frozen firmware: integer weights and every fixed-point type, derived once from the trained model.

hls4ml's precisions, the da4ml trace and build/firmware.json (what the emulator reads) all come
from this one description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.data.layout import FEATURE_NAMES
from trigger.data.units import field_bits
from trigger.fixed import FixedType
from trigger.model.scaling import Scaling


class ConversionError(ValueError):
    """The model cannot become firmware; the message names the layer and the reason."""


@dataclass(frozen=True)
class DenseLayer:
    name: str
    weight: np.ndarray  # (n_in, n_out) int64, in units of weight_type.lsb
    bias: np.ndarray  # (n_out,) int64, in units of bias_type.lsb
    weight_type: FixedType
    bias_type: FixedType
    accum_type: FixedType
    activation: str  # "relu" or "linear"
    result_type: FixedType


@dataclass(frozen=True)
class Network:
    word_bits: list[tuple[int, bool]]  # (width, signed) of each input word
    scaling: Scaling
    input_type: FixedType
    layers: list[DenseLayer]
    square_type: FixedType  # mu^2, exact
    score_type: FixedType  # sum(mu^2), exact
    thresholds: list[dict] = field(default_factory=list)  # rate_khz, threshold_int (score LSBs)

    @property
    def latent(self) -> int:
        return self.layers[-1].weight.shape[1]


def _to_int(values: np.ndarray, t: FixedType, what: str) -> np.ndarray:
    scaled = np.asarray(values, dtype=np.float64) * 2.0**t.frac
    ints = np.rint(scaled).astype(np.int64)
    if not np.array_equal(ints, scaled):
        raise ConversionError(f"{what}: values are not on the {t.hls()} grid (quantizer missing?)")
    lo, hi = round(t.min_value * 2**t.frac), round(t.max_value * 2**t.frac)
    if ints.min(initial=0) < lo or ints.max(initial=0) > hi:
        raise ConversionError(f"{what}: values exceed {t.hls()}")
    return ints


def _accumulator(in_type: FixedType, weight: np.ndarray, w_type: FixedType, bias: np.ndarray, b_type: FixedType) -> FixedType:
    """The narrowest type that holds every partial sum of this layer exactly."""
    frac = max(in_type.frac + w_type.frac, b_type.frac)
    a_max = max(abs(in_type.min_value), abs(in_type.max_value))
    w = np.abs(weight * w_type.lsb)
    bound = float((a_max * w.sum(axis=0) + np.abs(bias * b_type.lsb)).max(initial=0.0)) + 2.0**-frac
    integer = max(int(np.ceil(np.log2(bound))) + 1, 1) + 1  # sign bit
    return FixedType(integer + frac, integer, signed=True)


def check_supported(model) -> None:
    """Name the first layer the firmware cannot express."""
    import tensorflow as tf
    from qkeras import QActivation, QDense

    allowed = (tf.keras.layers.InputLayer, QDense, QActivation, tf.keras.layers.Multiply, tf.keras.layers.Dense)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            raise ConversionError(f"layer {layer.name!r}: a float BatchNormalization must be folded into quantized weights before export")
        if not isinstance(layer, allowed):
            raise ConversionError(f"layer {layer.name!r}: {type(layer).__name__} is not supported by the firmware generator")
        if isinstance(layer, tf.keras.layers.Dense) and not isinstance(layer, QDense) and layer.name != "score":
            raise ConversionError(f"layer {layer.name!r}: an unquantized Dense cannot go to firmware (use QDense)")


def build_network(cfg: Config, model, scaling: Scaling, thresholds: list[dict]) -> Network:
    from trigger.model.vae import quantized_kernels

    check_supported(model)
    m = cfg.model
    in_type = m.input.type
    layers = []
    dense = quantized_kernels(model)
    if len(dense) != len(m.hidden) + 1:
        raise ConversionError(f"model has {len(dense)} quantized dense layers, the config expects {len(m.hidden) + 1}")
    for i, d in enumerate(dense):
        last = i == len(dense) - 1
        w = _to_int(d["kernel"], m.weight.type, f"layer {d['name']!r} kernel")
        b = _to_int(d["bias"], m.bias.type, f"layer {d['name']!r} bias")
        acc = _accumulator(in_type, w, m.weight.type, b, m.bias.type)
        res = m.mu.type if last else m.activation.type
        layers.append(DenseLayer(d["name"], w, b, m.weight.type, m.bias.type, acc, "linear" if last else "relu", res))
        in_type = res
    mu = m.mu.type
    square = FixedType(2 * mu.width, 2 * mu.integer, signed=True)
    return Network(field_bits(cfg.units), scaling, m.input.type, layers, square, m.score_type, thresholds)


def network_to_dict(net: Network) -> dict:
    return {
        "format": "trigger-firmware/1",
        "inputs": [
            {"name": n, "width": w, "signed": s, "offset": int(o), "shift": int(sh)}
            for n, (w, s), o, sh in zip(FEATURE_NAMES, net.word_bits, net.scaling.offset, net.scaling.shift)
        ],
        "input_type": net.input_type.to_dict(),
        "layers": [
            {
                "name": l.name,
                "weight": l.weight.tolist(),
                "bias": l.bias.tolist(),
                "weight_type": l.weight_type.to_dict(),
                "bias_type": l.bias_type.to_dict(),
                "accum_type": l.accum_type.to_dict(),
                "activation": l.activation,
                "result_type": l.result_type.to_dict(),
            }
            for l in net.layers
        ],
        "square_type": net.square_type.to_dict(),
        "score_type": net.score_type.to_dict(),
        "thresholds": net.thresholds,
    }


def write_description(net: Network, path: Path, extra: dict | None = None) -> None:
    from trigger.io_utils import write_json

    write_json(path, network_to_dict(net) | (extra or {}))
