"""Our trained model as a design: integer weights and every fixed-point type (vae_kl: `trigger-design/1`, the
encoder; ae_reco: a `trigger-design/2` graph, trigger/model/ae_reco.py).

The model side ends here: `trigger evaluate` writes build/design.yaml with this, and every firmware stage
reads only that file. Our own choices, stated in the design's terms: scaling exact until one RND_CONV/SAT
cast, accumulators wide enough to be exact, result = accumulator, squares and their sum exact.
"""

from __future__ import annotations


import numpy as np

from trigger.config import Config
from trigger.data.layout import FEATURE_NAMES
from trigger.data.units import field_bits
from trigger.design import ConversionError, Design, InputWord, Layer, Score, Threshold
from trigger.design import Scaling as DScaling
from trigger.design.fixed import FixedType
from trigger.model.scaling import Scaling


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

    allowed = (tf.keras.layers.InputLayer, QDense, QActivation, tf.keras.layers.Multiply, tf.keras.layers.Dense,
               tf.keras.layers.Subtract)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            raise ConversionError(f"layer {layer.name!r}: a float BatchNormalization must be folded into quantized weights before export")
        if not isinstance(layer, allowed):
            raise ConversionError(f"layer {layer.name!r}: {type(layer).__name__} is not supported by the firmware generator")
        if isinstance(layer, tf.keras.layers.Dense) and not isinstance(layer, QDense) and layer.name != "score":
            raise ConversionError(f"layer {layer.name!r}: an unquantized Dense cannot go to firmware (use QDense)")


def build_design(cfg: Config, model, scaling: Scaling, thresholds: list[dict], name: str = "trigger") -> Design:
    """The design of a trained model (its family's graph); `thresholds`: {rate_khz, threshold_int} from evaluate."""
    from trigger.model.vae import quantized_kernels

    check_supported(model)
    m = cfg.model
    words = [FixedType.int(w, s) for w, s in field_bits(cfg.units)]
    word_bits = max(w.width for w in words) + 1  # every word, signed or not, and its offset
    max_shift = int(max(scaling.shift.max(initial=0), 0))
    # exact: word - offset needs word_bits + 1 signed bits; a right shift keeps every bit as a fraction
    mid = FixedType(word_bits + 2 + max_shift, word_bits + 2)
    d_scaling = DScaling(scaling.offset.astype(np.int64), FixedType.int(word_bits), scaling.shift.astype(np.int64), mid, m.input.type)
    ths = design_thresholds(thresholds)
    inputs = [InputWord(n, t) for n, t in zip(FEATURE_NAMES, words)]
    dense = quantized_kernels(model)
    if m.family != "vae_kl":
        return _graph_design(cfg, name, inputs, d_scaling, dense, ths)
    in_type, layers = m.input.type, []
    if len(dense) != len(m.hidden) + 1:
        raise ConversionError(f"model has {len(dense)} quantized dense layers, the config expects {len(m.hidden) + 1}")
    for i, d in enumerate(dense):
        last = i == len(dense) - 1
        w = _to_int(d["kernel"], m.weight.type, f"layer {d['name']!r} kernel")
        b = _to_int(d["bias"], m.bias.type, f"layer {d['name']!r} bias")
        acc = _accumulator(in_type, w, m.weight.type, b, m.bias.type)
        act = m.mu.type if last else m.activation.type
        layers.append(Layer(d["name"], w, b, m.weight.type, m.bias.type, acc, acc, "linear" if last else "relu", act))
        in_type = act
    mu = m.mu.type
    score = Score(FixedType(2 * mu.width, 2 * mu.integer, signed=True), m.score_type)
    return Design(name, inputs, d_scaling, layers, score, ths)


def design_thresholds(thresholds: list[dict]) -> list[Threshold]:
    """evaluate's threshold records ({rate_khz, threshold_int}) as the design states them."""
    return [Threshold(f"{t['rate_khz']:g}kHz", int(t["threshold_int"]), float(t["rate_khz"])) for t in thresholds]


def threshold_dicts(ths: list[Threshold]) -> list[dict]:
    """Thresholds as a format-2 file states them."""
    return [{"name": t.name, "raw": t.raw, "rate_khz": t.rate_khz} for t in ths]


def trained_design(cfg: Config, build, thresholds: list[dict]) -> Design:
    """The design of the build's trained trigger (the `or` family: both parts' graphs, ORed)."""
    from trigger.model.train import load_model, load_scaling

    if cfg.model.family == "or":
        from trigger.model.or_family import build_design as or_design

        return or_design(cfg, build, load_scaling(build), thresholds)
    return build_design(cfg, load_model(build), load_scaling(build), thresholds)


def _graph_design(cfg: Config, name: str, inputs, d_scaling, dense, ths) -> Design:
    """A format-2 family's design: its nodes, then validated as any imported file is."""
    from trigger.design import design_from_dict
    from trigger.model.families import module

    family = module(cfg)
    try:
        nodes = family.design_nodes(cfg, dense, _to_int, _accumulator)
    except ValueError as exc:
        raise ConversionError(str(exc)) from None
    shell = Design(name, inputs, d_scaling, [], "input", expose="input").to_dict()  # inputs and scaling, as a file states them
    d = {**shell, "nodes": nodes, "score": "score", "expose": family.MU,
         "thresholds": threshold_dicts(ths)}
    return design_from_dict(d, f"the trained {cfg.model.family} model")
