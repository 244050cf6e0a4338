"""`trigger import`: make a build folder from a design file, or from a (Q)Keras model + hls4ml configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from trigger.design import Design, DesignError, design_from_dict, load_design, save_design


def import_design(path: str | Path, build: str | Path) -> Design:
    """Validate a design and make `build` a build that every firmware command uses."""
    design = load_design(path)
    save_design(design, Path(build) / "design.yaml", header=f"Imported by `trigger import` from {Path(path).resolve()}")
    return design


def _yaml(path: Path, what: str) -> dict:
    if not Path(path).is_file():
        raise DesignError(f"{path}: {what} not found")
    try:
        d = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise DesignError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(d, dict):
        raise DesignError(f"{path}: expected a mapping at the top level")
    return d


class _Precisions:
    """hls4ml's configuration layout: Model.Precision (default) and LayerName.<layer>.Precision.<key>."""

    def __init__(self, hc: dict, source: str):
        self.hc, self.source = hc, source
        self.default = (hc.get("Model") or {}).get("Precision")
        self.layers = hc.get("LayerName") or {}

    def get(self, layer: str, key: str) -> str:
        p = (self.layers.get(layer) or {}).get("Precision")
        value = p.get(key) if isinstance(p, dict) else p
        if value is None:
            value = self.default.get(key, self.default.get("default")) if isinstance(self.default, dict) else self.default
        if value is None or value == "auto":
            raise DesignError(f"{self.source}: LayerName.{layer}.Precision.{key}: {'auto' if value else 'missing'}; "
                              "the design needs an explicit type for every precision")
        return str(value)


def _quantized(layer, which: str):
    """A QDense's/QConv2D's kernel/bias as its quantizer makes them (what hls4ml exports); a Dense's as they are."""
    values = {"kernel": layer.kernel, "bias": layer.bias}[which]
    q = getattr(layer, f"{which}_quantizer_internal", None)
    return np.asarray(q(values) if q is not None else values, dtype=np.float64)


def _activation_name(layer) -> str | None:
    """'relu', 'linear', or None for something a design cannot express."""
    act = getattr(layer, "activation", None)
    if isinstance(act, str):  # QActivation("relu") keeps the name
        act = getattr(layer, "quantizer", act)
    name = act if isinstance(act, str) else getattr(act, "__name__", None) or (act.__class__.__name__ if act is not None else "linear")
    if name in ("linear", "relu"):
        return name
    if hasattr(act, "get_config") and act.__class__.__name__ == "quantized_relu":
        return "relu"
    q = getattr(layer, "quantizer", None)  # QActivation("quantized_relu(...)")
    if q is not None and q.__class__.__name__ == "quantized_relu":
        return "relu"
    return None


CONV = ("Conv2D", "QConv2D")
RESHAPE = ("Flatten", "Reshape")  # no-ops: every tensor of a design is flat, row-major, channels last, as Keras's


def design_from_keras(model, hls_config: dict, spec: dict, source: str = "<keras>") -> Design:
    """The design of a Keras/QKeras model converted with `hls_config` (hls4ml's own layout): a format-1 dense
    encoder where the model is one (Dense/QDense + activations) and the spec's score is a sum of squares; otherwise a
    `trigger-design/2` graph (Conv2D/QConv2D, Flatten, Reshape too; the spec's score `output` is the last layer's
    single value)."""
    missing = [k for k in ("inputs", "scaling", "score") if k not in spec]
    if missing:
        raise DesignError(f"{source}: the spec lacks {', '.join(missing)}")
    prec = _Precisions(hls_config, source)
    kinds = {type(layer).__name__ for layer in model.layers}
    if isinstance(spec["score"], dict) and not kinds & {*CONV, *RESHAPE}:
        return _dense_chain(model, prec, spec, source)
    return _graph(model, prec, spec, source)


def _chain(model, source: str):
    """The model's layers after its input, each checked to read the one before it (a design here is a chain)."""
    import tensorflow as tf

    last = None
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            last = layer.output
            continue
        if last is not None and layer.input is not last:
            raise DesignError(f"{source}: layer {layer.name!r} does not read the layer before it; only a chain of layers "
                              "imports (write a branching graph as a trigger-design/2 file)")
        last = layer.output
        yield layer


def _dense_chain(model, prec: _Precisions, spec: dict, source: str) -> Design:
    layers, pending = [], None
    for layer in _chain(model, source):
        kind = type(layer).__name__
        if kind in ("Dense", "QDense"):
            if pending is not None:
                layers.append(pending)
            act = _activation_name(layer)
            if act is None:
                raise DesignError(f"{source}: layer {layer.name!r}: activation {layer.activation} is not relu or linear")
            w, b = _quantized(layer, "kernel"), _quantized(layer, "bias") if layer.use_bias else None
            result = prec.get(layer.name, "result")
            pending = {"name": layer.name, "weight": w.tolist(), "bias": (b if b is not None else w[0] * 0).tolist(),
                       "weight_type": prec.get(layer.name, "weight"), "bias_type": prec.get(layer.name, "bias"),
                       "accum_type": prec.get(layer.name, "accum"), "result_type": result, "activation": act,
                       "activation_type": prec.get(f"{layer.name}_{act}", "result") if act == "relu" else result}
        elif kind in ("Activation", "QActivation", "ReLU"):
            act = "relu" if kind == "ReLU" else _activation_name(layer)
            if pending is None or act is None or pending["activation"] == "relu":
                raise DesignError(f"{source}: layer {layer.name!r}: a {kind} the design cannot express here "
                                  "(one relu or linear activation after each dense layer)")
            pending["activation"] = act
            pending["activation_type"] = prec.get(layer.name, "result")
        else:
            raise DesignError(f"{source}: layer {layer.name!r}: {kind} cannot be expressed in a design "
                              f"(Dense/QDense, Conv2D/QConv2D, Flatten, Reshape, ReLU/QActivation, linear)")
    if pending is None:
        raise DesignError(f"{source}: no dense layer in the model")
    layers.append(pending)
    d = {"format": "trigger-design/1", "name": spec.get("name", model.name), "inputs": spec["inputs"], "scaling": spec["scaling"],
         "layers": layers, "score": spec["score"], "thresholds": spec.get("thresholds", [])}
    return design_from_dict(d, source)


def _weighted_node(layer, kind: str, prev: str, prec: _Precisions, source: str) -> dict:
    w = _quantized(layer, "kernel")
    b = _quantized(layer, "bias") if layer.use_bias else np.zeros(w.shape[-1])
    node = {"name": layer.name, "op": "dense", "input": prev}
    if kind in CONV:
        cfg = layer.get_config()
        for key, ok in (("padding", "valid"), ("data_format", "channels_last"), ("dilation_rate", (1, 1)), ("groups", 1)):
            if key in cfg and (tuple(cfg[key]) if isinstance(cfg[key], list) else cfg[key]) != ok:
                raise DesignError(f"{source}: layer {layer.name!r}: {key}={cfg[key]!r}; a conv2d node takes {key}={ok!r}")
        node.update(op="conv2d", in_shape=[int(v) for v in layer.input_shape[1:]], kernel=[int(v) for v in w.shape[:2]],
                    strides=[int(v) for v in cfg["strides"]])
    node.update(weight=w.tolist(), bias=b.tolist(), weight_type=prec.get(layer.name, "weight"),
                bias_type=prec.get(layer.name, "bias"), accum_type=prec.get(layer.name, "accum"),
                result_type=prec.get(layer.name, "result"))
    return node


def _graph(model, prec: _Precisions, spec: dict, source: str) -> Design:
    """A sequential model as format-2 nodes: a weighted node (+ its activation node) per Dense/Conv2D, an
    activation node per activation layer; the score as the spec says."""
    nodes, prev = [], "input"
    for layer in _chain(model, source):
        kind = type(layer).__name__
        if kind in RESHAPE:
            continue
        if kind in ("Dense", "QDense", *CONV):
            nodes.append(_weighted_node(layer, kind, prev, prec, source))
            act = _activation_name(layer)
            if act is None:
                raise DesignError(f"{source}: layer {layer.name!r}: activation {layer.activation} is not relu or linear")
            prev = layer.name
            if act == "relu":
                nodes.append({"name": f"{layer.name}_relu", "op": "relu", "input": prev,
                              "type": prec.get(f"{layer.name}_relu", "result")})
                prev = f"{layer.name}_relu"
        elif kind in ("Activation", "QActivation", "ReLU"):
            act = "relu" if kind == "ReLU" else _activation_name(layer)
            if act is None or not nodes:
                raise DesignError(f"{source}: layer {layer.name!r}: a {kind} the design cannot express here "
                                  "(relu or linear, after a Dense or Conv2D)")
            nodes.append({"name": layer.name, "op": act, "input": prev, "type": prec.get(layer.name, "result")})
            prev = layer.name
        else:
            raise DesignError(f"{source}: layer {layer.name!r}: {kind} cannot be expressed in a design "
                              f"(Dense/QDense, Conv2D/QConv2D, Flatten, Reshape, ReLU/QActivation, linear)")
    if not nodes:
        raise DesignError(f"{source}: no Dense or Conv2D layer in the model")
    score = spec["score"]
    if isinstance(score, dict):  # the format-1 score: the sum of squares of the last tensor
        r = spec["score"]
        if set(r) != {"square_type", "sum_type"}:
            raise DesignError(f"{source}: spec score: expected `output` or {{square_type, sum_type}}, got keys {sorted(r)}")
        nodes += [{"name": "score_square", "op": "square", "input": prev, "type": r["square_type"]},
                  {"name": "score", "op": "sum", "input": "score_square", "type": r["sum_type"]}]
        score = "score"
    elif score == "output":
        score = prev
    else:
        raise DesignError(f"{source}: spec score: {score!r}; expected `output` (the model's single output value) or "
                          "{square_type, sum_type}")
    d = {"format": "trigger-design/2", "name": spec.get("name", model.name), "inputs": spec["inputs"],
         "scaling": spec["scaling"], "nodes": nodes, "score": score, "thresholds": spec.get("thresholds", [])}
    return design_from_dict(d, source)


def import_keras(model_path: str | Path, hls_config_path: str | Path, spec_path: str | Path, build: str | Path) -> Design:
    from trigger.model.train import load_keras_file

    model = load_keras_file(model_path)
    design = design_from_keras(model, _yaml(Path(hls_config_path), "hls4ml configuration"), _yaml(Path(spec_path), "spec"),
                               f"{model_path} + {hls_config_path} + {spec_path}")
    save_design(design, Path(build) / "design.yaml", header=f"Imported by `trigger import --keras` from {Path(model_path).resolve()}")
    return design
